// NumberItem: a labelled number field; the value goes to Python when it changes.
let counter = 0;

function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-number-${++counter}`;
  const input = h("input", { type: "number", id: `${uid}-input`, class: "se4u-number-input",
    min: String(model.get("minimum")), max: String(model.get("maximum")), step: String(model.get("step")),
    inputmode: "decimal", "aria-describedby": `${uid}-unit` });
  const status = h("p", { class: "se4u-save", role: "status" });
  const root = h("div", { class: "se4u-activity se4u-number" },
    h("label", { for: input.id, class: "se4u-prompt", text: model.get("prompt") }),
    h("div", { class: "se4u-number-row" }, input, h("span", { id: `${uid}-unit`, text: model.get("unit") })),
    status);
  el.append(root);
  input.addEventListener("change", () => {
    const value = input.value === "" ? null : Number(input.value);
    model.set("value", Number.isFinite(value) ? value : null);
    model.save_changes();
  });
  function update() {
    const value = model.get("value");
    if (document.activeElement !== input) input.value = value === null ? "" : String(value);
    input.disabled = model.get("locked");
    const problem = model.get("save_status");
    status.textContent = model.get("locked") ? "Survey submitted." :
      problem === "saved" ? "Your answer is saved." : problem;
  }
  const names = ["value", "save_status", "locked"];
  for (const name of names) model.on(`change:${name}`, update);
  update();
  return () => { for (const name of names) model.off(`change:${name}`, update); };
}

export default { render };
