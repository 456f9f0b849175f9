// Progressive enhancement of the dossier form: autosave, a warning before leaving with unsaved
// changes, and live budget totals. Without JavaScript the form saves with its buttons.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosave]");
  if (!form) return;
  const status = form.querySelector(".autosave-status");
  const version = form.querySelector("input[name=version]");
  let dirty = false;
  let timer = null;
  let submitting = false;

  const say = (text) => { if (status) status.textContent = text; };

  async function save() {
    if (!dirty) return;
    dirty = false;
    const data = new FormData(form);
    data.set("next", "");
    say("Enregistrement…");
    try {
      const response = await fetch(form.dataset.autosave, {
        method: "POST", body: data, headers: { "X-Autosave": "1" }, credentials: "same-origin",
      });
      const body = await response.json();
      if (response.ok) {
        version.value = body.version;
        const time = new Date(body.saved_at).toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
        say(`Brouillon enregistré automatiquement à ${time}.`);
        for (const item of body.completeness) {
          const badge = document.querySelector(`.completeness[data-section="${item.section}"]`);
          if (badge) {
            const complete = item.filled === item.required;
            badge.textContent = complete ? "complet" : `${item.filled} sur ${item.required}`;
            badge.classList.toggle("complete", complete);
            badge.classList.toggle("incomplete", !complete);
          }
        }
      } else {
        dirty = true;
        say(body.error || "Enregistrement automatique impossible : utilisez le bouton Enregistrer.");
      }
    } catch (error) {
      dirty = true;
      say("Connexion perdue : vos saisies n'ont pas encore été enregistrées.");
    }
  }

  form.addEventListener("input", () => {
    dirty = true;
    say("Modifications non enregistrées.");
    clearTimeout(timer);
    timer = setTimeout(save, 3000);
    updateTotals();
  });
  form.addEventListener("focusout", () => { if (dirty) { clearTimeout(timer); save(); } });
  form.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("beforeunload", (event) => {
    if (dirty && !submitting) { event.preventDefault(); event.returnValue = ""; }
  });

  function updateTotals() {
    const totals = { expense: 0, income: 0 };
    for (const row of form.querySelectorAll(".budget-line")) {
      const kind = row.querySelector("select").value;
      const amount = parseFloat((row.querySelector("input.amount").value || "0").replace(/\s/g, "").replace(",", "."));
      if (!Number.isNaN(amount)) totals[kind] += amount;
    }
    const format = (value) => value.toLocaleString("fr-FR", { style: "currency", currency: "EUR" });
    for (const kind of Object.keys(totals)) {
      const cell = form.querySelector(`[data-total="${kind}"]`);
      if (cell) cell.textContent = format(totals[kind]);
    }
  }
});
