// ChecklistItem: tick every option that applies; the ticked ids go to Python at once.
let counter = 0;

function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-check-${++counter}`;
  const list = h("div", { class: "se4u-checklist" });
  const inputs = model.get("options").map((option) => {
    const input = h("input", { type: "checkbox", id: `${uid}-${option.id}`, value: option.id });
    input.addEventListener("change", () => {
      model.set("selected", inputs.filter((i) => i.checked).map((i) => i.value));
      model.save_changes();
    });
    list.append(h("label", { for: input.id, class: "se4u-point" }, input, h("span", { text: option.text })));
    return input;
  });
  const status = h("p", { class: "se4u-save", role: "status" });
  const root = h("fieldset", { class: "se4u-activity se4u-likert se4u-checklist-item" },
    h("legend", { class: "se4u-prompt", text: model.get("prompt") }),
    h("p", { class: "se4u-instructions", text: "Tick all that apply." }), list, status);
  el.append(root);
  function update() {
    const selected = new Set(model.get("selected"));
    for (const input of inputs) {
      input.checked = selected.has(input.value);
      input.disabled = model.get("locked");
    }
    const problem = model.get("save_status");
    status.textContent = model.get("locked") ? "Survey submitted." :
      problem === "saved" ? "Your answer is saved." : problem;
  }
  const names = ["selected", "save_status", "locked"];
  for (const name of names) model.on(`change:${name}`, update);
  update();
  return () => { for (const name of names) model.off(`change:${name}`, update); };
}

export default { render };
