// Shared by every activity's module (prepended in Python): build DOM nodes with text, never HTML.
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}
// Keys pressed in a list box (<select>) belong to it: in JupyterLab the notebook would otherwise
// handle them (a letter or an arrow moves the focus back to the cell), so a keyboard user could
// not choose. Text fields are already left alone by JupyterLab.
function keepKeys(node) {
  node.addEventListener("keydown", (event) => event.stopPropagation());
  return node;
}
// On a course page the server sends a plain HTML snapshot of the activity (.se4u-ssr, beside the
// widget in the same output) so a learner can read and start answering while the scripts load.
// Once this widget is on the page, hand the snapshot's form to `adopt` (which returns the live
// control to focus if the learner was in the snapshot) and remove it.
function adoptSnapshot(el, adopt) {
  let tries = 0;
  function look() {
    if (!el.isConnected) {
      if (++tries < 600) requestAnimationFrame(look);
      return;
    }
    const output = el.closest(".jp-OutputArea-child") || el.closest(".jp-OutputArea-output");
    const snapshot = output && output.querySelector(".se4u-ssr");
    if (!snapshot || snapshot.contains(el)) return;
    // Voilà's start-up can drop the focus to the page; the course template remembers where it was.
    const last = window.se4uSnapshotFocus;
    const lost = !document.activeElement || document.activeElement === document.body;
    const focused = snapshot.contains(document.activeElement) ? document.activeElement
      : lost && last && snapshot.contains(last) ? last : null;
    const target = adopt(snapshot, focused);
    snapshot.remove();
    // Keep the keyboard where the learner was: on the same control of the live widget, once it
    // can take the focus (it may still be laid out when it is first connected).
    let left = 60;
    function refocus() {
      if (!target || document.activeElement === target || --left < 0) return;
      target.focus();
      requestAnimationFrame(refocus);
    }
    refocus();
  }
  look();
}
