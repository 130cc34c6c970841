// LikertItem: a statement and a scale of radio buttons; the choice goes to Python at once.
let counter = 0;

function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-likert-${++counter}`;
  const root = document.createElement("fieldset");
  root.className = "se4u-activity se4u-likert";
  const legend = document.createElement("legend");
  legend.className = "se4u-prompt";
  legend.textContent = model.get("prompt");
  root.append(legend);
  const list = document.createElement("div");
  list.className = "se4u-scale";
  const inputs = model.get("scale").map((text, index) => {
    const input = document.createElement("input");
    input.type = "radio";
    input.name = uid;
    input.id = `${uid}-${index}`;
    input.value = String(index);
    input.addEventListener("change", () => {
      model.set("value", index);
      model.save_changes();
    });
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.className = "se4u-point";
    const span = document.createElement("span");
    span.textContent = text;
    label.append(input, span);
    list.append(label);
    return input;
  });
  const status = document.createElement("p");
  status.className = "se4u-save";
  status.setAttribute("role", "status");
  root.append(list, status);
  el.append(root);
  function update() {
    const value = model.get("value");
    const locked = model.get("locked");
    inputs.forEach((input, index) => { input.checked = index === value; input.disabled = locked; });
    const problem = model.get("save_status");
    status.textContent = locked ? "Survey submitted." : problem === "saved" ? "Your answer is saved." : problem;
  }
  const names = ["value", "save_status", "locked"];
  for (const name of names) model.on(`change:${name}`, update);
  update();
  return () => { for (const name of names) model.off(`change:${name}`, update); };
}

export default { render };
