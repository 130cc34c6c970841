// SurveySubmit: one button; after submission the survey's answers are read-only.
function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const button = h("button", { type: "button", class: "se4u-button se4u-primary", text: "Submit the survey" });
  const status = h("p", { class: "se4u-feedback", role: "status", "aria-live": "polite" });
  const root = h("div", { class: "se4u-activity se4u-survey-submit" },
    h("p", { class: "se4u-instructions",
      text: "You can change your answers until you submit. After that they are final." }),
    h("div", { class: "se4u-actions" }, button), status);
  el.append(root);
  button.addEventListener("click", () => model.send({ action: "submit" }));
  function update() {
    const done = model.get("submitted");
    button.disabled = done;
    const problem = model.get("save_status");
    if (problem && problem !== "saved") status.textContent = problem;
    else status.textContent = done
      ? `Thank you: the survey is submitted (${model.get("answered")} of ${model.get("total")} questions answered).`
      : "";
    root.dataset.verdict = done ? "correct" : "";
  }
  const names = ["submitted", "save_status", "answered"];
  for (const name of names) model.on(`change:${name}`, update);
  update();
  return () => { for (const name of names) model.off(`change:${name}`, update); };
}

export default { render };
