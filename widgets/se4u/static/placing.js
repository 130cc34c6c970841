// Placing activities: drag (Pointer Events), tap to place, or keyboard. The key stays in Python.
// h() comes from dom.js, prepended in Python.
let counter = 0;
const DRAG_START_PX = 6;

const MARK_TEXT = {
  right: ["✓ right", "correct"],
  wrong: ["✗ wrong", "not correct"],
  moved: ["→ solution", "shown in its correct place"],
};

const INSTRUCTIONS = {
  categories: "Sort each item into a category.",
  order: "Put the items in the right order, first to last.",
  pairs: "Match each item to the term it belongs with.",
  words: "Fill each gap in the text with a word from the word bank.",
  jigsaw: "Put each piece in its place.",
};
const HOW = "Drag an item to a place, or select an item and then a place (tap, or Space/Enter; " +
  "Tab or the arrow keys move between places; Escape cancels). Then press Check.";

function render({ model, el }) {
  // Keys typed in an activity belong to it, not to JupyterLab's notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-place-${++counter}`;
  const layout = model.get("layout");
  const capacity = model.get("capacity");
  const mode = model.get("mode") || "text";
  const imageMode = layout === "jigsaw" && mode === "image";
  const rows = model.get("rows") || 1;
  const cols = model.get("cols") || 1;
  const tile = Math.max(44, Math.min(96, Math.floor(320 / cols)));
  const image = model.get("image") || "";

  const root = h("section", { class: "se4u-activity se4u-placing", "data-layout": layout,
    "aria-labelledby": `${uid}-prompt` });
  if (imageMode) root.dataset.mode = "image";
  const title = model.get("title");
  if (title) root.append(h("h3", { class: "se4u-title", text: title }));
  root.append(h("p", { class: "se4u-prompt", id: `${uid}-prompt`, text: model.get("prompt") }));
  root.append(h("p", { class: "se4u-instructions", id: `${uid}-how`,
    text: `${INSTRUCTIONS[layout] || ""} ${HOW}` }));
  if (imageMode) {
    const problem = model.get("image_problem");
    if (problem) root.append(h("p", { class: "se4u-problem", role: "alert", text: problem }));
    root.append(h("p", { class: "se4u-instructions", text: `The picture: ${model.get("alt")}` }));
  }

  // --- pieces -----------------------------------------------------------------------------------
  const pieces = model.get("pieces");
  const pieceById = new Map(pieces.map((p) => [p.id, p]));
  const pieceEls = new Map();
  for (const piece of pieces) {
    const text = h("span", { class: "se4u-piece-text", text: piece.text });
    if (imageMode) text.className = "se4u-sr-only";
    const mark = h("span", { class: "se4u-mark", "aria-hidden": "true" });
    const markText = h("span", { class: "se4u-sr-only se4u-mark-text" });
    const where = h("span", { class: "se4u-sr-only se4u-where" });
    const button = h("button", { type: "button", class: "se4u-piece", "data-piece": piece.id,
      "aria-pressed": "false", "aria-describedby": `${uid}-how` }, text, mark, markText, where);
    if (imageMode) {
      button.classList.add("se4u-tile");
      Object.assign(button.style, {
        width: `${tile}px`, height: `${tile}px`, backgroundImage: image ? `url("${image}")` : "",
        backgroundSize: `${cols * tile}px ${rows * tile}px`,
        backgroundPosition: `-${piece.col * tile}px -${piece.row * tile}px`,
      });
    }
    pieceEls.set(piece.id, { button, mark, markText, where });
  }

  // --- the bank ---------------------------------------------------------------------------------
  const bankButton = h("button", { type: "button", class: "se4u-target-button se4u-bank-button",
    "data-drop": "" }, h("span", { text: layout === "words" ? "Word bank" : "Items to place" }));
  // Plain containers: a role="list" may hold only listitems, and these hold buttons.
  const bankList = h("div", { class: "se4u-bank-items" });
  const bankEmpty = h("p", { class: "se4u-empty", text: "All items are placed." });
  const bank = h("div", { class: "se4u-bank", "data-drop": "", role: "group",
    "aria-label": layout === "words" ? "Word bank" : "Items to place" }, bankButton, bankList,
  bankEmpty);

  // --- targets ----------------------------------------------------------------------------------
  const targets = model.get("targets");
  const targetById = new Map(targets.map((g) => [g.id, g]));
  const targetEls = new Map();
  function makeTarget(target, tag = "div") {
    const button = h("button", { type: "button", class: "se4u-target-button",
      "data-target": target.id }, h("span", { class: "se4u-target-label",
      text: layout === "words" ? target.label.replace("Gap ", "") : target.label }));
    const slot = h("div", { class: "se4u-slot-items" });
    const box = h(tag, { class: "se4u-target", "data-drop": target.id }, button, slot);
    if (imageMode) Object.assign(box.style, { width: `${tile}px`, height: `${tile}px` });
    targetEls.set(target.id, { box, button, slot });
    return box;
  }
  let area;
  if (layout === "words") {
    area = h("p", { class: "se4u-passage" });
    for (const segment of model.get("segments") || []) {
      if (segment.gap && targetById.has(segment.gap)) {
        area.append(makeTarget(targetById.get(segment.gap), "span"));
      } else {
        area.append(document.createTextNode(segment.text || ""));
      }
    }
  } else if (imageMode) {
    area = h("div", { class: "se4u-grid", role: "group", "aria-label": "Picture grid" });
    area.style.gridTemplateColumns = `repeat(${cols}, ${tile}px)`;
    for (const target of targets) area.append(makeTarget(target));
  } else {
    // An ordered list keeps its list role (its <li> positions need it); the others are a group.
    area = h(layout === "order" ? "ol" : "div", { class: "se4u-targets",
      role: layout === "order" ? null : "group", "aria-label": layout === "order" ? "Positions" : "Places" });
    for (const target of targets) area.append(makeTarget(target, layout === "order" ? "li" : "div"));
  }
  const board = h("div", { class: "se4u-board" }, bank, area);
  root.append(board);

  const announce = h("p", { class: "se4u-announce", role: "status", "aria-live": "polite",
    "aria-atomic": "true" });
  const checkButton = h("button", { type: "button", class: "se4u-button se4u-primary se4u-check",
    text: "Check" });
  const retryButton = h("button", { type: "button", class: "se4u-button se4u-retry",
    text: "Try again" });
  const solutionButton = h("button", { type: "button", class: "se4u-button se4u-solution",
    text: "Show solution" });
  const actions = h("div", { class: "se4u-actions" }, checkButton, retryButton, solutionButton);
  const feedback = h("p", { class: "se4u-feedback" });
  const explainList = h("ul", { class: "se4u-explanations", "aria-label": "Explanations" });
  const takeaway = h("div", { class: "se4u-takeaway", hidden: true });
  const saveStatus = h("p", { class: "se4u-save" });
  root.append(announce, actions, feedback, explainList, takeaway, saveStatus);
  el.append(root);

  // --- state and moves --------------------------------------------------------------------------
  let picked = null;
  let drag = null;
  let suppressClick = false;

  const placements = () => ({ ...(model.get("placements") || {}) });
  const say = (text) => {
    announce.textContent = text;
    // The result after Check is also shown below the buttons: read it out, but show it once.
    announce.classList.toggle("se4u-sr-only", text === feedback.textContent);
  };
  const holding = (targetId) => Object.entries(placements()).filter(([, g]) => g === targetId)
    .map(([p]) => p);
  function describeTarget(targetId) {
    const label = targetById.get(targetId).label;
    const held = holding(targetId);
    if (!held.length) return `${label}, empty`;
    const names = held.map((p) => pieceById.get(p).text).join(", ");
    return `${label}, holds ${held.length} item${held.length === 1 ? "" : "s"}: ${names}`;
  }

  function setPicked(id) {
    picked = id;
    for (const [pid, r] of pieceEls) r.button.setAttribute("aria-pressed", String(pid === id));
    root.classList.toggle("se4u-picking", id !== null);
  }
  function pick(id) {
    setPicked(id);
    say(`Picked up ${pieceById.get(id).text}. Choose a place with Tab or the arrow keys and ` +
      "press Enter, or tap a place. Escape cancels.");
  }
  function cancel() {
    if (picked === null) return;
    const name = pieceById.get(picked).text;
    setPicked(null);
    say(`Cancelled. ${name} was not moved.`);
  }
  function drop(targetId) {
    if (picked === null || model.get("locked")) return;
    const id = picked;
    const next = placements();
    const from = next[id];
    if (targetId) {
      if (capacity === 1) {
        for (const [other, g] of Object.entries(next)) {
          if (g === targetId && other !== id) {
            if (from) next[other] = from; else delete next[other];
          }
        }
      }
      next[id] = targetId;
    } else {
      delete next[id];
    }
    setPicked(null);
    model.set("placements", next);
    model.save_changes();
    update();
    const name = pieceById.get(id).text;
    if (targetId) {
      say(`${name} placed in ${targetById.get(targetId).label}.`);
      targetEls.get(targetId).button.focus();
    } else {
      say(`${name} returned to the ${layout === "words" ? "word bank" : "items to place"}.`);
      bankButton.focus();
    }
  }

  for (const [id, r] of pieceEls) {
    r.button.addEventListener("click", (event) => {
      event.stopPropagation();
      if (suppressClick && event.detail !== 0) { suppressClick = false; return; }
      suppressClick = false;
      if (model.get("locked")) return;
      if (picked === id) { cancel(); return; }
      const at = placements()[id];
      if (picked !== null && at) { drop(at); return; } // a placed item is also its place
      pick(id);
    });
    r.button.addEventListener("pointerdown", (event) => onPointerDown(event, id));
  }
  for (const [targetId, t] of targetEls) {
    t.box.addEventListener("click", () => {
      if (picked !== null) drop(targetId);
      else if (!model.get("locked")) say(`${describeTarget(targetId)}. Pick up an item first.`);
    });
    t.button.addEventListener("focus", () => {
      if (picked !== null) {
        say(`${describeTarget(targetId)}. Press Enter to place ${pieceById.get(picked).text} here.`);
      }
    });
  }
  bank.addEventListener("click", () => { if (picked !== null) drop(null); });
  bankButton.addEventListener("focus", () => {
    if (picked !== null) say(`Items to place. Press Enter to put ${pieceById.get(picked).text} back.`);
  });

  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && picked !== null) {
      event.preventDefault();
      const back = pieceEls.get(picked).button;
      cancel();
      back.focus();
      return;
    }
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step || picked === null) return;
    const stops = [bankButton, ...[...targetEls.values()].map((t) => t.button)];
    const at = stops.indexOf(document.activeElement);
    const next = at < 0 ? (step > 0 ? 1 : stops.length - 1)
      : (at + step + stops.length) % stops.length;
    event.preventDefault();
    stops[next].focus();
  });

  // --- dragging with Pointer Events (mouse, pen and touch) ----------------------------------------
  function dropZoneAt(x, y) {
    const hit = document.elementFromPoint(x, y);
    const zone = hit && hit.closest("[data-drop]");
    return zone && root.contains(zone) ? zone : null;
  }
  function clearOver() {
    for (const zone of root.querySelectorAll(".se4u-over")) zone.classList.remove("se4u-over");
  }
  function onPointerDown(event, id) {
    suppressClick = false;
    if (model.get("locked") || (event.pointerType === "mouse" && event.button !== 0)) return;
    const button = pieceEls.get(id).button;
    drag = { id, button, pointerId: event.pointerId, x: event.clientX, y: event.clientY,
      started: false, ghost: null };
    try { button.setPointerCapture(event.pointerId); } catch { /* already released */ }
  }
  function onPointerMove(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.started) {
      if (Math.hypot(dx, dy) < DRAG_START_PX) return;
      drag.started = true;
      const box = drag.button.getBoundingClientRect();
      drag.offsetX = drag.x - box.left;
      drag.offsetY = drag.y - box.top;
      const ghost = drag.button.cloneNode(true);
      ghost.removeAttribute("data-piece");
      ghost.classList.add("se4u-ghost");
      ghost.setAttribute("aria-hidden", "true");
      ghost.style.width = `${box.width}px`;
      ghost.style.height = `${box.height}px`;
      root.append(ghost);
      drag.ghost = ghost;
      drag.button.classList.add("se4u-dragging");
      pick(drag.id);
    }
    event.preventDefault();
    drag.ghost.style.left = `${event.clientX - drag.offsetX}px`;
    drag.ghost.style.top = `${event.clientY - drag.offsetY}px`;
    clearOver();
    const zone = dropZoneAt(event.clientX, event.clientY);
    if (zone) zone.classList.add("se4u-over");
  }
  function endDrag(event, dropIt) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const current = drag;
    drag = null;
    try { current.button.releasePointerCapture(event.pointerId); } catch { /* released */ }
    if (!current.started) return; // a tap: the click that follows picks or places
    current.ghost.remove();
    current.button.classList.remove("se4u-dragging");
    clearOver();
    suppressClick = true;
    const zone = dropIt ? dropZoneAt(event.clientX, event.clientY) : null;
    if (zone) drop(zone.dataset.drop || null);
    else cancel();
  }
  root.addEventListener("pointermove", onPointerMove);
  root.addEventListener("pointerup", (event) => endDrag(event, true));
  root.addEventListener("pointercancel", (event) => endDrag(event, false));

  // --- actions ------------------------------------------------------------------------------------
  checkButton.addEventListener("click", () => {
    if (model.get("locked")) return;
    setPicked(null);
    model.send({ action: "check", placements: placements() });
  });
  retryButton.addEventListener("click", () => {
    setPicked(null);
    model.send({ action: "retry" });
    say("Everything is back in the bank. Try again.");
    const first = pieceEls.values().next().value;
    if (first) first.button.focus();
  });
  solutionButton.addEventListener("click", () => model.send({ action: "solution" }));

  // --- drawing the state ----------------------------------------------------------------------------
  function place(container, ids) {
    const wanted = ids.map((id) => pieceEls.get(id).button);
    const have = [...container.children];
    if (wanted.length === have.length && wanted.every((b, i) => b === have[i])) return;
    for (const button of wanted) container.append(button);
  }
  let lastMessage = "";
  function update() {
    const current = placements();
    const fb = model.get("feedback") || {};
    const marks = fb.marks || {};
    const locked = model.get("locked");
    const inTarget = new Map([...targetEls.keys()].map((id) => [id, []]));
    const inBank = [];
    for (const piece of pieces) {
      const at = current[piece.id];
      if (at && inTarget.has(at)) inTarget.get(at).push(piece.id); else inBank.push(piece.id);
    }
    place(bankList, inBank);
    bankEmpty.hidden = inBank.length > 0;
    for (const [targetId, t] of targetEls) {
      place(t.slot, inTarget.get(targetId));
      t.button.setAttribute("aria-label", describeTarget(targetId));
      t.button.disabled = locked;
      t.box.dataset.count = String(inTarget.get(targetId).length);
    }
    bankButton.disabled = locked;
    for (const [id, r] of pieceEls) {
      const mark = marks[id];
      r.button.dataset.mark = mark || "";
      r.mark.textContent = mark ? MARK_TEXT[mark][0] : "";
      r.markText.textContent = mark ? ` (${MARK_TEXT[mark][1]})` : "";
      const at = current[id];
      r.where.textContent = at && targetById.has(at) ? `, in ${targetById.get(at).label}` : "";
      r.button.disabled = locked;
    }
    const explanations = fb.explanations || {};
    explainList.replaceChildren(...pieces.filter((p) => explanations[p.id]).map((p) => h("li",
      { class: "se4u-explain" }, h("strong", { text: `${p.text}: ` }),
      document.createTextNode(explanations[p.id]))));
    explainList.hidden = explainList.children.length === 0;
    checkButton.disabled = locked;
    retryButton.hidden = locked || (!Object.keys(current).length && !fb.verdict);
    solutionButton.hidden = !model.get("can_show_solution");
    root.dataset.verdict = fb.verdict || "";
    let text = fb.message || "";
    if (fb.verdict) {
      const points = model.get("points");
      const earned = Math.round(model.get("score") * points * 100) / 100;
      text += ` Score: ${earned} of ${points} point${points === 1 ? "" : "s"}.`;
      const max = model.get("max_attempts");
      if (max) text += ` Attempt ${model.get("attempts")} of ${max}.`;
    }
    text = text.trim();
    feedback.textContent = text;
    if (text && text !== lastMessage) say(text);
    lastMessage = text;
    const away = model.get("takeaway");
    takeaway.hidden = !away;
    takeaway.replaceChildren(...(away ? [h("strong", { text: "Takeaway: " }),
      document.createTextNode(away)] : []));
    const status = model.get("save_status");
    saveStatus.textContent = status === "saved" ? "Your answer is saved." : status;
    saveStatus.setAttribute("role", status && status !== "saved" ? "alert" : "note");
  }
  const names = ["placements", "feedback", "locked", "can_show_solution", "score", "attempts",
    "save_status", "takeaway"];
  for (const name of names) model.on(`change:${name}`, update);
  update();
  return () => {
    for (const name of names) model.off(`change:${name}`, update);
    if (drag && drag.ghost) drag.ghost.remove();
  };
}

export default { render };
