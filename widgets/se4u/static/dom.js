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
