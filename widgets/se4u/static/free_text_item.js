// FreeTextItem: a survey answer in the learner's words, saved a moment after they stop typing.
let counter = 0;

function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-free-${++counter}`;
  const root = document.createElement("div");
  root.className = "se4u-activity se4u-free";
  const label = document.createElement("label");
  label.className = "se4u-prompt";
  label.htmlFor = `${uid}-text`;
  label.textContent = model.get("prompt");
  const area = document.createElement("textarea");
  area.id = `${uid}-text`;
  area.className = "se4u-textarea";
  area.rows = 4;
  area.maxLength = model.get("max_chars");
  area.value = model.get("text");
  const status = document.createElement("p");
  status.className = "se4u-save";
  status.setAttribute("role", "status");
  root.append(label, area, status);
  el.append(root);
  let timer = null;
  const flush = () => {
    clearTimeout(timer);
    if (area.value !== model.get("text")) { model.set("text", area.value); model.save_changes(); }
  };
  area.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(flush, 800); });
  area.addEventListener("blur", flush);
  function update() {
    if (document.activeElement !== area) area.value = model.get("text");
    const locked = Boolean(model.get("locked"));
    area.readOnly = locked;
    const problem = model.get("save_status");
    status.textContent = locked ? "Survey submitted." : problem === "saved" ? "Your answer is saved." : problem;
  }
  const names = ["text", "save_status", "locked"];
  for (const name of names) model.on(`change:${name}`, update);
  update();
  return () => { flush(); for (const name of names) model.off(`change:${name}`, update); };
}

export default { render };
