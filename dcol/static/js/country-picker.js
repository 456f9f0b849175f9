// The country picker: a search box over a long <select multiple data-picker> (the ~250
// countries), and the chosen countries as a list of removable chips above it. The select stays
// the form's field (hidden, kept in step): without JavaScript it works as it is, with Ctrl-click.
// The search box is an ARIA combobox: type a few letters (accents ignored), arrows to move in
// the list, Enter to choose, Escape to close; each chip has a "remove" button.
(() => {
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[’‘]/g, "'").toLowerCase().trim();

  function enhance(select) {
    const texts = select.dataset;
    const fill = (text, values) => (text || "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
    const items = Array.from(select.options)
      .filter((option) => option.value)
      .map((option) => ({ option, name: option.text, key: fold(option.text) }));

    const picker = document.createElement("div");
    picker.className = "picker";
    const chosen = document.createElement("ul");
    chosen.className = "picker-chosen";
    chosen.setAttribute("aria-label", texts.textChosen || "");
    const empty = document.createElement("p");
    empty.className = "picker-empty";
    empty.textContent = texts.textEmpty || "";
    const search = document.createElement("input");
    search.type = "text";
    search.id = `${select.id}-recherche`;
    search.autocomplete = "off";
    search.setAttribute("role", "combobox");
    search.setAttribute("aria-autocomplete", "list");
    search.setAttribute("aria-expanded", "false");
    const list = document.createElement("ul");
    list.className = "picker-options";
    list.id = `${select.id}-options`;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-multiselectable", "true");
    list.setAttribute("aria-label", texts.textOptions || "");
    list.hidden = true;
    search.setAttribute("aria-controls", list.id);
    const none = document.createElement("p");
    none.className = "picker-none";
    none.hidden = true;
    const spoken = document.createElement("p");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");

    // The field's label, hint and error now describe the search box.
    for (const label of document.querySelectorAll(`label[for="${select.id}"]`)) label.htmlFor = search.id;
    for (const name of ["aria-describedby", "aria-invalid"]) {
      if (select.hasAttribute(name)) search.setAttribute(name, select.getAttribute(name));
    }
    const hint = document.getElementById(`${select.id}-hint`);
    if (hint && texts.textHint) hint.textContent = texts.textHint;
    const hadFocus = document.activeElement === select;
    select.hidden = true;
    picker.append(chosen, empty, search, list, none, spoken);
    select.after(picker);
    if (hadFocus) search.focus();

    let shown = []; // the items listed, in order
    let active = -1; // the index in ``shown`` of the highlighted one

    function changed(item) {
      // The form sees the change as if the select had been used (the autosave listens).
      select.dispatchEvent(new Event("input", { bubbles: true }));
      select.dispatchEvent(new Event("change", { bubbles: true }));
      spoken.textContent = fill(item.option.selected ? texts.textAdded : texts.textRemoved, { name: item.name });
      drawChips();
      drawList();
    }

    function toggle(item) {
      item.option.selected = !item.option.selected;
      changed(item);
    }

    function drawChips() {
      const selected = items.filter((item) => item.option.selected);
      chosen.replaceChildren(...selected.map((item) => {
        const chip = document.createElement("li");
        const name = document.createElement("span");
        name.textContent = item.name;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "picker-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", fill(texts.textRemove, { name: item.name }));
        remove.addEventListener("click", () => {
          const position = selected.indexOf(item);
          item.option.selected = false;
          changed(item);
          // Keep the keyboard where it was: the next chip's button, or the search box.
          const buttons = chosen.querySelectorAll("button");
          (buttons[Math.min(position, buttons.length - 1)] || search).focus();
        });
        chip.append(name, remove);
        return chip;
      }));
      chosen.hidden = selected.length === 0;
      empty.hidden = selected.length > 0;
    }

    function matches(query) {
      const wanted = fold(query);
      if (!wanted) return items;
      const found = items.filter((item) => item.key.includes(wanted));
      // Names that start with what was typed first ("sen" → Sénégal before Arménie…).
      return [
        ...found.filter((item) => item.key.startsWith(wanted)),
        ...found.filter((item) => !item.key.startsWith(wanted)),
      ];
    }

    function drawList() {
      if (list.hidden) return;
      list.replaceChildren(...shown.map((item, index) => {
        const option = document.createElement("li");
        option.id = `${list.id}-${item.option.value}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", item.option.selected ? "true" : "false");
        option.textContent = item.name;
        if (index === active) option.classList.add("active");
        option.addEventListener("click", () => {
          toggle(item);
          close();
          search.value = "";
        });
        return option;
      }));
      const current = list.children[active];
      if (current) {
        search.setAttribute("aria-activedescendant", current.id);
        current.scrollIntoView({ block: "nearest" });
      } else {
        search.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      shown = matches(search.value);
      active = search.value.trim() && shown.length ? 0 : -1;
      list.hidden = shown.length === 0;
      search.setAttribute("aria-expanded", list.hidden ? "false" : "true");
      none.hidden = shown.length > 0;
      none.textContent = shown.length ? "" : fill(texts.textNone, { query: search.value.trim() });
      if (!shown.length) spoken.textContent = none.textContent;
      drawList();
    }

    function close() {
      list.hidden = true;
      none.hidden = true;
      active = -1;
      search.setAttribute("aria-expanded", "false");
      search.removeAttribute("aria-activedescendant");
    }

    function move(step) {
      if (list.hidden) open();
      if (!shown.length) return;
      active = active < 0 ? (step > 0 ? 0 : shown.length - 1)
        : Math.min(Math.max(active + step, 0), shown.length - 1);
      drawList();
    }

    // Typing a search is not a change of the form: the form does not hear it.
    search.addEventListener("input", (event) => {
      event.stopPropagation();
      open();
    });
    search.addEventListener("change", (event) => event.stopPropagation());
    search.addEventListener("focus", () => { if (search.value.trim()) open(); });
    search.addEventListener("click", () => { if (list.hidden) open(); });
    search.addEventListener("blur", close);
    // Clicking in the list (an option, its scroll bar) leaves the focus in the search box.
    list.addEventListener("mousedown", (event) => event.preventDefault());
    search.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        move(1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        move(-1);
      } else if (event.key === "Enter") {
        // Never submits the form from the search box.
        event.preventDefault();
        if (!list.hidden && shown[active]) {
          toggle(shown[active]);
          search.value = "";
          close();
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        } else if (search.value) {
          event.preventDefault();
          search.value = "";
        }
      }
    });

    drawChips();
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const select of document.querySelectorAll("select[multiple][data-picker]")) enhance(select);
  });
})();
