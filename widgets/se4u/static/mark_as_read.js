// MarkAsRead: one toggle button with aria-pressed; the state lives in Python and the store.
function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const root = document.createElement("div");
  root.className = "se4u-activity se4u-read";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "se4u-button se4u-read-button";
  const status = document.createElement("p");
  status.className = "se4u-save";
  status.setAttribute("role", "status");
  root.append(button, status);
  el.append(root);
  button.addEventListener("click", () => model.send({ action: "toggle", done: !model.get("done") }));
  let first = true;
  function update() {
    const done = model.get("done");
    const title = model.get("title");
    button.setAttribute("aria-pressed", done ? "true" : "false");
    // The name starts with the visible words (WCAG 2.5.3, label in name); the section's title
    // follows for screen readers only, so that the buttons of a page can be told apart.
    button.replaceChildren(document.createTextNode(done ? "✓ Read" : "Mark this section as read"));
    if (title) {
      const which = document.createElement("span");
      which.className = "se4u-sr-only";
      which.textContent = `: ${title}`;
      button.append(which);
    }
    root.dataset.done = done ? "yes" : "no";
    const problem = model.get("save_status");
    if (problem && problem !== "saved") status.textContent = problem;
    else if (!first) status.textContent = done ? "Marked as read and saved." : "Marked as not read.";
    first = false;
  }
  model.on("change:done", update);
  model.on("change:save_status", update);
  update();
  return () => { model.off("change:done", update); model.off("change:save_status", update); };
}

export default { render };
