// Progressive enhancement of the dossier form: autosave, a warning before leaving with unsaved
// changes, and live budget totals. Without JavaScript the form saves with its buttons.
//
// Every save moves the dossier's version on, and a save sent with a version another save is
// about to replace is refused (412). So saves never overlap: at most one is under way, and one
// asked for meanwhile waits for it, then goes with the version it brought back. A button pressed
// (or a link followed) while a save is under way waits for it too.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosave]");
  if (!form) return;
  const status = form.querySelector(".autosave-status");
  const texts = status ? status.dataset : {};
  const version = form.querySelector("input[name=version]");
  const language = document.documentElement.lang || "fr";
  // A fetch that outlives the page (keepalive) may carry 64 KB at most.
  const KEEPALIVE_LIMIT = 60000;

  let edits = 0; // changes made on this page
  let savedEdits = 0; // how many of them the server has
  let timer = null;
  let running = null; // the save under way (a promise that never rejects)
  let again = false; // a save was asked for while one was under way
  let submitting = false;
  let waitingToSubmit = false;

  let statusHeight = 0;
  function say(text) {
    if (!status || !text) return;
    status.textContent = text;
    // The status never gets shorter: a shorter page scrolled to its end would move the buttons
    // above it between the press and the release of a click, and lose the click.
    statusHeight = Math.max(statusHeight, status.offsetHeight);
    status.style.minHeight = `${statusHeight}px`;
  }
  const isDirty = () => savedEdits < edits;

  async function send() {
    const sent = edits;
    const data = new FormData(form);
    data.set("next", "");
    const body = new URLSearchParams(data);
    say(texts.saving);
    let response;
    try {
      response = await fetch(form.dataset.autosave, {
        method: "POST",
        body,
        headers: { "X-Autosave": "1" },
        credentials: "same-origin",
        // Finishes even when the officer leaves the page right after typing.
        keepalive: body.toString().length < KEEPALIVE_LIMIT,
      });
    } catch (error) {
      say(texts.offline);
      return;
    }
    let answer = {};
    try {
      answer = await response.json();
    } catch (error) {
      // Not the JSON of an autosave (an error page, or the login page after a long absence).
    }
    if (!response.ok || answer.version === undefined) {
      // Said with what is wrong ("Montant invalide : …"), the fields keep what was typed.
      const details = Object.values(answer.errors || {}).join(" ");
      say(answer.error ? `${answer.error} ${details}`.trim() : texts.failed);
      return;
    }
    version.value = answer.version;
    // Half-typed budget lines were left out: the page is not saved until they are complete.
    if (!answer.incomplete_lines) savedEdits = Math.max(savedEdits, sent);
    const time = new Date(answer.saved_at).toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
    const saved = (texts.saved || "").replace("{time}", time);
    say(answer.incomplete_lines ? `${saved} ${texts.incompleteLines}` : saved);
    for (const item of answer.completeness || []) {
      const badge = document.querySelector(`.completeness[data-section="${item.section}"]`);
      if (badge) {
        const complete = item.filled === item.required;
        // The words come from the page, in its language (data-complete, data-partial).
        badge.textContent = complete
          ? texts.complete
          : (texts.partial || "").replace("{filled}", item.filled).replace("{total}", item.required);
        badge.classList.toggle("complete", complete);
        badge.classList.toggle("incomplete", !complete);
      }
    }
  }

  function save() {
    clearTimeout(timer);
    if (submitting) return;
    if (running) {
      again = true;
      return;
    }
    if (!isDirty()) return;
    running = send().finally(() => {
      running = null;
      if (again) {
        again = false;
        save();
      }
    });
  }

  // Resolves once no save is under way nor waiting.
  async function settled() {
    while (running) await running;
  }

  form.addEventListener("input", () => {
    edits += 1;
    say(texts.unsaved);
    clearTimeout(timer);
    timer = setTimeout(save, 3000);
    updateTotals();
  });
  form.addEventListener("focusout", () => { if (isDirty()) save(); });

  form.addEventListener("submit", (event) => {
    if (running || waitingToSubmit) {
      // Posted now, the form would carry the version this save is replacing: wait for it, then
      // submit again with the version it brings back, as the same button.
      event.preventDefault();
      if (waitingToSubmit) return;
      waitingToSubmit = true;
      const submitter = event.submitter;
      say(texts.waiting);
      settled().then(() => {
        waitingToSubmit = false;
        submitAs(submitter);
      });
      return;
    }
    clearTimeout(timer);
    submitting = true;
  });

  function submitAs(submitter) {
    if (form.requestSubmit) {
      form.requestSubmit(submitter && submitter.form === form ? submitter : null);
      return;
    }
    // Older browsers: carry the button's name and value, and submit (no submit event then).
    if (submitter && submitter.name) {
      const carried = document.createElement("input");
      carried.type = "hidden";
      carried.name = submitter.name;
      carried.value = submitter.value;
      form.append(carried);
    }
    clearTimeout(timer);
    submitting = true;
    form.submit();
  }

  // A link followed while a save is under way: leave once it is done (when it failed, the page
  // is still unsaved and the browser asks before leaving).
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link || !running || event.defaultPrevented || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    if ((link.target && link.target !== "_self") || link.hasAttribute("download")) return;
    event.preventDefault();
    say(texts.waiting);
    settled().then(() => window.location.assign(link.href));
  });

  window.addEventListener("beforeunload", (event) => {
    // Unsaved until the server has it: while a save is under way, or after one failed.
    if ((isDirty() || running) && !submitting) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) submitting = false; // back on this page from the browser's cache
  });

  // "12 500,50", "12500.50" or "12,500.50" (as dcol.applications.services.parse_amount reads).
  function parseAmount(text) {
    let value = (text || "").replace(/\s/g, "");
    if (value.includes(",") && value.includes(".")) {
      value = value.replaceAll(value.lastIndexOf(",") < value.lastIndexOf(".") ? "," : ".", "");
    }
    const amount = Number(value.replace(",", "."));
    return Number.isFinite(amount) ? amount : 0;
  }

  function updateTotals() {
    const totals = { expense: 0, income: 0, eligible: 0 };
    for (const row of form.querySelectorAll(".budget-line")) {
      const kind = row.querySelector("select").value;
      const amount = parseAmount(row.querySelector("input.amount").value);
      totals[kind] += amount;
      const eligible = row.querySelector("input[type=checkbox]");
      if (kind === "expense" && (!eligible || eligible.checked)) totals.eligible += amount;
    }
    totals.balance = totals.income - totals.expense;
    const format = (value) => value.toLocaleString(language, { style: "currency", currency: "EUR" });
    for (const kind of Object.keys(totals)) {
      const cell = form.querySelector(`[data-total="${kind}"]`);
      if (cell) cell.textContent = format(totals[kind]);
    }
  }
});
