// MultipleChoice: the learner's selection goes to Python; the verdict comes back. No key here.
let counter = 0;

const MARK_TEXT = {
  right: ["✓", "your choice, correct"],
  wrong: ["✗", "your choice, not correct"],
  missed: ["•", "a correct answer you did not choose"],
};

function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-mc-${++counter}`;
  const mode = model.get("mode");
  const multiple = mode === "multiple";
  const root = h("section", { class: "se4u-activity se4u-mc", "aria-labelledby": `${uid}-legend` });
  const title = model.get("title");
  if (title) root.append(h("h3", { class: "se4u-title", text: title }));
  const fieldset = h("fieldset", { class: "se4u-fieldset" });
  fieldset.append(h("legend", { id: `${uid}-legend`, class: "se4u-prompt", text: model.get("prompt") }));
  fieldset.append(h("p", { class: "se4u-instructions", id: `${uid}-how`,
    text: multiple ? "Choose all the answers that apply, then press Check."
      : "Choose one answer, then press Check." }));
  const list = h("ul", { class: "se4u-options", role: "list" });
  const rows = new Map();
  for (const option of model.get("options")) {
    const input = h("input", { type: multiple ? "checkbox" : "radio", name: uid, value: option.id,
      id: `${uid}-${option.id}`, "aria-describedby": `${uid}-how` });
    const mark = h("span", { class: "se4u-mark", "aria-hidden": "true" });
    const markText = h("span", { class: "se4u-sr-only" });
    const explain = h("p", { class: "se4u-explain", id: `${uid}-${option.id}-explain`, hidden: true });
    const label = h("label", { for: input.id, class: "se4u-option-label" }, input,
      h("span", { class: "se4u-option-text", text: option.text }), mark, markText);
    const row = h("li", { class: "se4u-option" }, label, explain);
    rows.set(option.id, { input, mark, markText, explain, row });
    input.addEventListener("change", () => {
      model.set("selected", currentSelection());
      model.save_changes();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); check(); }
    });
    list.append(row);
  }
  fieldset.append(list);
  root.append(fieldset);

  const hintList = h("ol", { class: "se4u-hints", "aria-label": "Hints" });
  const general = h("p", { class: "se4u-general", hidden: true });
  const checkButton = h("button", { type: "button", class: "se4u-button se4u-primary", text: "Check" });
  const hintButton = h("button", { type: "button", class: "se4u-button" });
  const solutionButton = h("button", { type: "button", class: "se4u-button", text: "Show solution" });
  const retryButton = h("button", { type: "button", class: "se4u-button", text: "Try again" });
  const actions = h("div", { class: "se4u-actions" }, checkButton, hintButton, solutionButton, retryButton);
  const feedback = h("div", { class: "se4u-feedback", role: "status", "aria-live": "polite",
    "aria-atomic": "true", id: `${uid}-feedback` });
  const saveStatus = h("p", { class: "se4u-save" });
  root.append(hintList, actions, feedback, general, saveStatus);
  el.append(root);

  function currentSelection() {
    return [...rows.entries()].filter(([, r]) => r.input.checked).map(([id]) => id);
  }
  function check() {
    if (model.get("locked")) return;
    model.send({ action: "check", selected: currentSelection() });
  }
  checkButton.addEventListener("click", check);
  hintButton.addEventListener("click", () => model.send({ action: "hint" }));
  solutionButton.addEventListener("click", () => model.send({ action: "solution" }));
  retryButton.addEventListener("click", () => {
    model.send({ action: "retry" });
    const first = rows.values().next().value;
    if (first) first.input.focus();
  });

  function update() {
    const selected = new Set(model.get("selected"));
    const fb = model.get("feedback") || {};
    const marks = fb.marks || {};
    const explanations = fb.explanations || {};
    const locked = model.get("locked");
    for (const [id, r] of rows) {
      r.input.checked = selected.has(id);
      r.input.disabled = locked;
      const mark = marks[id];
      r.row.dataset.mark = mark || "";
      r.mark.textContent = mark ? MARK_TEXT[mark][0] : "";
      r.markText.textContent = mark ? ` (${MARK_TEXT[mark][1]})` : "";
      const text = explanations[id];
      r.explain.hidden = !text;
      r.explain.textContent = text || "";
      const described = [`${uid}-how`].concat(text ? [r.explain.id] : []);
      r.input.setAttribute("aria-describedby", described.join(" "));
    }
    hintList.replaceChildren(...model.get("hints").map((text) => h("li", { text })));
    hintList.hidden = model.get("hints").length === 0;
    const left = model.get("hints_left");
    hintButton.hidden = left === 0 || locked;
    hintButton.textContent = `Hint (${left} left)`;
    checkButton.disabled = locked;
    solutionButton.hidden = !model.get("can_show_solution");
    retryButton.hidden = locked || !fb.verdict || fb.verdict === "correct";
    root.dataset.verdict = fb.verdict || "";
    let text = fb.message || "";
    if (fb.verdict) {
      const points = model.get("points");
      const earned = Math.round(model.get("score") * points * 100) / 100;
      text += ` Score: ${earned} of ${points} point${points === 1 ? "" : "s"}.`;
      const max = model.get("max_attempts");
      if (max) text += ` Attempt ${model.get("attempts")} of ${max}.`;
    }
    feedback.textContent = text.trim();
    general.hidden = !fb.general;
    general.textContent = fb.general || "";
    const status = model.get("save_status");
    saveStatus.textContent = status === "saved" ? "Your answer is saved." : status;
    saveStatus.setAttribute("role", status && status !== "saved" ? "alert" : "note");
  }
  const names = ["selected", "feedback", "locked", "hints", "hints_left", "can_show_solution",
    "score", "attempts", "save_status"];
  for (const name of names) model.on(`change:${name}`, update);
  update();
  // What the learner chose in the page's snapshot before this widget was live becomes the selection.
  adoptSnapshot(el, (snapshot, focused) => {
    const chosen = [...snapshot.querySelectorAll("input:checked")].map((i) => i.value).filter((id) => rows.has(id));
    if (chosen.length && !model.get("locked")) {
      model.set("selected", multiple ? chosen : chosen.slice(-1));
      model.save_changes();
      update();
    }
    if (!focused) return null;
    const row = rows.get(focused.value) || rows.values().next().value;
    return row ? row.input : null;
  });
  return () => { for (const name of names) model.off(`change:${name}`, update); };
}

export default { render };
