// ShortEssay: the text is saved while the learner types (debounced) and when they leave the box.
let counter = 0;
const SAVE_AFTER_MS = 800;

const countWords = (text) => (text.match(/\S+/g) || []).length;

function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-essay-${++counter}`;
  const root = h("section", { class: "se4u-activity se4u-essay", "aria-labelledby": `${uid}-prompt` });
  const title = model.get("title");
  if (title) root.append(h("h3", { class: "se4u-title", text: title }));
  // A real <label> for the text area (not only aria-labelledby): clicking it focuses the box.
  root.append(h("label", { class: "se4u-prompt", id: `${uid}-prompt`, for: `${uid}-text`,
    text: model.get("prompt") }));
  const min = model.get("min_words");
  const max = model.get("max_words");
  const limits = min ? `Write ${min} to ${max} words.` : `Write up to ${max} words.`;
  root.append(h("p", { class: "se4u-instructions", id: `${uid}-limits`,
    text: `${limits} Your text is saved as you type.` }));
  const rubric = model.get("rubric");
  if (rubric.length) {
    const list = h("dl", { class: "se4u-rubric" });
    for (const row of rubric) {
      const points = row.points === null || row.points === undefined ? "" : ` (${row.points} pt)`;
      list.append(h("dt", { text: row.criterion + points }), h("dd", { text: row.description }));
    }
    root.append(h("details", { class: "se4u-rubric-box" },
      h("summary", { text: "How this essay is assessed" }), list));
  }
  const area = h("textarea", { id: `${uid}-text`, class: "se4u-textarea", rows: "10",
    maxlength: String(model.get("max_chars")), "aria-labelledby": `${uid}-prompt`,
    "aria-describedby": `${uid}-limits ${uid}-count`, spellcheck: "true" });
  area.value = model.get("text");
  const count = h("p", { class: "se4u-count", id: `${uid}-count` });
  const submit = h("button", { type: "button", class: "se4u-button se4u-primary", text: "Submit essay" });
  const status = h("div", { class: "se4u-feedback", role: "status", "aria-live": "polite" });
  const save = h("p", { class: "se4u-save" });
  root.append(area, count, h("div", { class: "se4u-actions" }, submit), status, save);
  el.append(root);

  let timer = null;
  function flush() {
    clearTimeout(timer);
    timer = null;
    if (area.value !== model.get("text")) {
      model.set("text", area.value);
      model.save_changes();
    }
  }
  function showCount() {
    const words = countWords(area.value);
    count.textContent = `${words} word${words === 1 ? "" : "s"}` +
      (words > max ? ` — ${words - max} over the limit` : words < min ? ` — ${min - words} to go` : "");
    count.dataset.state = words > max ? "over" : words < min ? "under" : "ok";
  }
  area.addEventListener("input", () => {
    showCount();
    save.textContent = "Saving…";
    clearTimeout(timer);
    timer = setTimeout(flush, SAVE_AFTER_MS);
  });
  area.addEventListener("blur", flush);
  submit.addEventListener("click", () => {
    flush();
    model.send({ action: "submit", text: area.value });
  });

  function update() {
    if (document.activeElement !== area && area.value !== model.get("text")) area.value = model.get("text");
    showCount();
    status.textContent = model.get("message");
    root.dataset.verdict = model.get("submitted") ? "correct" : "";
    const problem = model.get("save_status");
    const when = model.get("saved_at");
    if (problem && problem !== "saved") {
      save.textContent = problem;
      save.setAttribute("role", "alert");
    } else if (timer === null) {
      save.removeAttribute("role");
      save.textContent = when ? `Saved at ${new Date(when).toLocaleTimeString()}.` : "";
    }
  }
  const names = ["text", "message", "submitted", "save_status", "saved_at"];
  for (const name of names) model.on(`change:${name}`, update);
  update();
  return () => {
    flush();
    for (const name of names) model.off(`change:${name}`, update);
  };
}

export default { render };
