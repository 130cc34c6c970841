// Self-assessment test items: the learner's answer goes to Python and is saved. No key, no verdict here.
let counter = 0;

function statusText(value) {
  if (!value) return "";
  return value === "saved" ? "Saved" : value;
}

function renderChoice(model, uid, fieldset) {
  const multiple = model.get("mode") === "multiple";
  fieldset.append(h("p", { class: "se4u-instructions", id: `${uid}-how`,
    text: multiple ? "Choose all the answers that apply. Your choice is saved at once."
      : "Choose one answer. Your choice is saved at once." }));
  const list = h("ul", { class: "se4u-test-options", role: "list" });
  const inputs = new Map();
  for (const option of model.get("options")) {
    const input = h("input", { type: multiple ? "checkbox" : "radio", name: uid, value: option.id,
      id: `${uid}-${option.id}`, "aria-describedby": `${uid}-how` });
    input.addEventListener("change", () => {
      model.set("selected", [...inputs.entries()].filter(([, i]) => i.checked).map(([id]) => id));
      model.save_changes();
    });
    inputs.set(option.id, input);
    list.append(h("li", { class: "se4u-test-option" },
      h("label", { for: input.id, class: "se4u-test-label" }, input,
        h("span", { text: option.text }))));
  }
  fieldset.append(list);
  return () => {
    const selected = new Set(model.get("selected"));
    for (const [id, input] of inputs) input.checked = selected.has(id);
  };
}

function renderOrder(model, uid, fieldset, announce) {
  fieldset.append(h("p", { class: "se4u-instructions", id: `${uid}-how`,
    text: "Put the steps in order, first at the top, with the Move up and Move down buttons. "
      + "Your order is saved at once." }));
  const list = h("ol", { class: "se4u-test-order" });
  fieldset.append(list);
  const texts = new Map(model.get("items").map((i) => [i.id, i.text]));
  function move(id, delta) {
    const order = [...model.get("order")];
    const from = order.indexOf(id);
    const to = from + delta;
    if (from < 0 || to < 0 || to >= order.length) return;
    order.splice(from, 1);
    order.splice(to, 0, id);
    model.set("order", order);
    model.save_changes();
    announce(`"${texts.get(id)}" moved to position ${to + 1} of ${order.length}.`);
    draw();
  }
  function refocus(id, delta) {
    const same = list.querySelector(`[data-id="${id}"][data-delta="${delta}"]`);
    const other = list.querySelector(`[data-id="${id}"]:not([disabled])`);
    (same && !same.disabled ? same : other)?.focus();
  }
  function draw() {
    const order = model.get("order");
    const active = list.contains(document.activeElement) ? document.activeElement.dataset : null;
    list.replaceChildren();
    order.forEach((id, index) => {
      const text = texts.get(id) || id;
      const up = h("button", { type: "button", class: "se4u-button", "data-id": id, "data-delta": "-1",
        "aria-label": `Move up: ${text}`, disabled: index === 0, text: "↑ Move up" });
      const down = h("button", { type: "button", class: "se4u-button", "data-id": id, "data-delta": "1",
        "aria-label": `Move down: ${text}`, disabled: index === order.length - 1, text: "↓ Move down" });
      up.addEventListener("click", () => move(id, -1));
      down.addEventListener("click", () => move(id, 1));
      list.append(h("li", { class: "se4u-test-step" },
        h("span", { class: "se4u-test-step-text", text }), h("span", { class: "se4u-test-moves" }, up, down)));
    });
    if (active && active.id) refocus(active.id, active.delta);
  }
  return draw;
}

function renderCategories(model, uid, fieldset) {
  fieldset.append(h("p", { class: "se4u-instructions", id: `${uid}-how`,
    text: "Choose a category for each statement. Your choices are saved at once." }));
  const list = h("ul", { class: "se4u-test-options", role: "list" });
  const selects = new Map();
  for (const item of model.get("items")) {
    const select = keepKeys(h("select", { id: `${uid}-${item.id}`, class: "se4u-test-select",
      "aria-describedby": `${uid}-how` }));
    select.append(h("option", { value: "", text: "Choose a category…" }));
    for (const category of model.get("categories")) {
      select.append(h("option", { value: category.id, text: category.label }));
    }
    select.addEventListener("change", () => {
      const placements = {};
      for (const [id, s] of selects) if (s.value) placements[id] = s.value;
      model.set("placements", placements);
      model.save_changes();
    });
    selects.set(item.id, select);
    list.append(h("li", { class: "se4u-test-option se4u-test-category" },
      h("label", { for: select.id, class: "se4u-test-statement", text: item.text }), select));
  }
  fieldset.append(list);
  return () => {
    const placements = model.get("placements") || {};
    for (const [id, select] of selects) select.value = placements[id] || "";
  };
}

function renderEssay(model, uid, fieldset) {
  const area = h("textarea", { id: `${uid}-text`, class: "se4u-test-essay", rows: "10",
    "aria-describedby": `${uid}-how ${uid}-count` });
  fieldset.append(h("label", { for: area.id, class: "se4u-instructions", id: `${uid}-how`,
    text: "Write your answer here. It is saved as you type and graded by your instructor." }));
  fieldset.append(area);
  const count = h("p", { class: "se4u-instructions", id: `${uid}-count` });
  fieldset.append(count);
  let timer = null;
  function send() {
    clearTimeout(timer);
    timer = null;
    if (area.value === model.get("text")) return;
    model.set("text", area.value);
    model.save_changes();
  }
  function counted() {
    const words = area.value.trim() ? area.value.trim().split(/\s+/).length : 0;
    count.textContent = `${words} words, ${area.value.length} of ${model.get("max_chars")} characters`;
  }
  area.addEventListener("input", () => { counted(); clearTimeout(timer); timer = setTimeout(send, 800); });
  area.addEventListener("blur", send);
  return () => {
    if (document.activeElement !== area && area.value !== model.get("text")) area.value = model.get("text");
    counted();
  };
}

function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-test-${++counter}`;
  const root = h("section", { class: "se4u-activity se4u-test", "aria-labelledby": `${uid}-legend` });
  const title = model.get("title");
  if (title) root.append(h("h3", { class: "se4u-title", text: title }));
  const fieldset = h("fieldset", { class: "se4u-fieldset" });
  fieldset.append(h("legend", { id: `${uid}-legend`, class: "se4u-prompt", text: model.get("prompt") }));
  const status = h("p", { class: "se4u-save se4u-test-status", role: "status", "aria-live": "polite" });
  const live = h("p", { class: "se4u-sr-only", role: "status", "aria-live": "polite" });
  const announce = (text) => { live.textContent = text; };
  const layouts = { choice: renderChoice, order: renderOrder, categories: renderCategories, essay: renderEssay };
  const draw = (layouts[model.get("layout")] || renderChoice)(model, uid, fieldset, announce);
  root.append(fieldset, status, live);
  el.append(root);
  function update() {
    draw();
    status.textContent = statusText(model.get("save_status"));
    root.dataset.problem = model.get("save_status") && model.get("save_status") !== "saved" ? "yes" : "no";
  }
  model.on("change", update);
  update();
  return () => model.off("change", update);
}

export default { render };
