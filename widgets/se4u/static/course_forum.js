// CourseForum: threads, posts with replies, a composer, participation. Posts arrive as HTML that the
// kernel rendered and sanitised (markdown-it + nh3); everything else is set as text.
let counter = 0;

function render({ model, el }) {
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const uid = `se4u-forum-${++counter}`;
  const root = h("section", { class: "se4u-activity se4u-forum-app", "aria-label": "Course forum" });
  const picker = keepKeys(h("select", { id: `${uid}-thread`, class: "se4u-forum-select" }));
  const pickRow = h("div", { class: "se4u-forum-pick" },
    h("label", { for: `${uid}-thread`, text: "Discussion" }), picker,
    h("button", { type: "button", class: "se4u-button", text: "Refresh" }));
  const refresh = pickRow.querySelector("button");
  const heading = h("h3", { class: "se4u-title", id: `${uid}-title` });
  const prompt = h("p", { class: "se4u-forum-prompt" });
  const rule = h("p", { class: "se4u-instructions" });
  const mine = h("p", { class: "se4u-forum-mine" });
  const table = h("table", { class: "se4u-forum-table" });
  const list = h("ol", { class: "se4u-forum-posts", "aria-labelledby": `${uid}-title` });
  const replying = h("p", { class: "se4u-forum-replying", id: `${uid}-replying` });
  const cancel = h("button", { type: "button", class: "se4u-button", text: "Cancel reply", hidden: true });
  const label = h("label", { for: `${uid}-text` });
  const text = h("textarea", { id: `${uid}-text`, rows: "5", class: "se4u-forum-text",
    "aria-describedby": `${uid}-replying ${uid}-help` });
  const help = h("p", { class: "se4u-save", id: `${uid}-help`,
    text: "Markdown works: **bold**, *italic*, lists and links." });
  const send = h("button", { type: "submit", class: "se4u-button se4u-primary", text: "Post" });
  const form = h("form", { class: "se4u-forum-form" }, replying, label, text, help,
    h("div", { class: "se4u-actions" }, send, cancel));
  const status = h("p", { class: "se4u-feedback se4u-forum-status", role: "status", "aria-live": "polite" });
  const body = h("div", { class: "se4u-forum-body" }, heading, prompt, rule, mine, table, list, form);
  root.append(pickRow, body, status);
  el.append(root);

  let replyTo = null;
  function setReply(post) {
    replyTo = post ? post.id : null;
    label.textContent = post ? `Your reply to ${post.author}` : "Your post";
    replying.textContent = post ? `Replying to post ${post.id} by ${post.author}.` : "";
    cancel.hidden = !post;
    send.textContent = post ? "Post reply" : "Post";
  }

  function postItem(post, byParent) {
    const when = post.created ? ` · ${post.created}` : "";
    const flags = [post.pinned ? "pinned" : "", post.hidden ? "hidden by an instructor" : ""].filter(Boolean);
    const header = h("p", { class: "se4u-forum-meta" },
      h("strong", { text: post.author }), document.createTextNode(when + (flags.length ? ` · ${flags.join(", ")}` : "")));
    const content = h("div", { class: "se4u-forum-html" });
    content.innerHTML = post.html; // rendered and sanitised in the kernel (nh3)
    const reply = h("button", { type: "button", class: "se4u-button", text: "Reply" });
    reply.append(h("span", { class: "se4u-sr-only", text: ` to ${post.author}` }));
    reply.addEventListener("click", () => { setReply(post); text.focus(); });
    const actions = h("div", { class: "se4u-actions" }, reply);
    if (post.mine) {
      const remove = h("button", { type: "button", class: "se4u-button", text: "Delete" });
      remove.append(h("span", { class: "se4u-sr-only", text: " your post" }));
      remove.addEventListener("click", () => {
        if (window.confirm("Delete this post?")) model.send({ action: "delete", id: post.id });
      });
      actions.append(remove);
    }
    const item = h("li", { class: "se4u-forum-post", "data-post": String(post.id) },
      h("article", {}, header, content, actions));
    const children = byParent.get(post.id) || [];
    if (children.length) {
      const sub = h("ol", { class: "se4u-forum-replies", "aria-label": `Replies to ${post.author}` });
      for (const child of children) sub.append(postItem(child, byParent));
      item.append(sub);
    }
    return item;
  }

  function update() {
    const available = model.get("available");
    body.hidden = !available;
    pickRow.hidden = !available;
    root.dataset.problem = model.get("problem") ? "yes" : "no";
    status.textContent = model.get("status");
    if (!available) return;
    const threads = model.get("threads");
    const current = model.get("thread");
    picker.replaceChildren(...threads.map((x) => h("option", { value: x.id, text: x.title, selected: x.id === current })));
    const info = model.get("info") || {};
    heading.textContent = info.title || current;
    prompt.textContent = info.prompt || "";
    const parts = [];
    if (info.min_posts) parts.push(`${info.min_posts} post${info.min_posts > 1 ? "s" : ""} of your own`);
    if (info.min_replies) parts.push(`${info.min_replies} repl${info.min_replies > 1 ? "ies" : "y"} to others`);
    rule.textContent = parts.length ? `To complete this assignment: ${parts.join(" and ")}.` : "";
    const me = model.get("me") || {};
    const counts = model.get("participation") || {};
    const own = counts[me.name];
    mine.textContent = me.instructor || !own ? "" :
      `Your part so far: ${own.posts} post${own.posts === 1 ? "" : "s"}, ${own.replies} repl${own.replies === 1 ? "y" : "ies"}` +
      (own.complete ? " — assignment complete." : " — not complete yet.");
    table.replaceChildren();
    if (me.instructor) {
      const names = Object.keys(counts).sort();
      table.append(h("caption", { text: names.length ? "Who has met the assignment's rule" : "Nobody has posted yet." }));
      if (names.length) {
        table.append(h("thead", {}, h("tr", {}, ...["Learner", "Posts", "Replies", "Rule met"].map((x) => h("th", { scope: "col", text: x })))));
        table.append(h("tbody", {}, ...names.map((n) => h("tr", {},
          h("th", { scope: "row", text: n }), h("td", { text: String(counts[n].posts) }),
          h("td", { text: String(counts[n].replies) }), h("td", { text: counts[n].complete ? "yes" : "no" })))));
      }
    }
    const posts = model.get("posts");
    const byParent = new Map();
    const ids = new Set(posts.map((p) => p.id));
    for (const post of posts) {
      const key = post.parent_id && ids.has(post.parent_id) ? post.parent_id : null;
      if (!byParent.has(key)) byParent.set(key, []);
      byParent.get(key).push(post);
    }
    const top = byParent.get(null) || [];
    list.replaceChildren(...top.map((p) => postItem(p, byParent)));
    if (!top.length) list.append(h("li", { class: "se4u-forum-empty", text: "No posts yet: be the first." }));
    if (replyTo !== null && !ids.has(replyTo)) setReply(null);
  }

  picker.addEventListener("change", () => { setReply(null); model.send({ action: "open", thread: picker.value }); });
  refresh.addEventListener("click", () => model.send({ action: "refresh" }));
  cancel.addEventListener("click", () => { setReply(null); text.focus(); });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    model.send({ action: "post", body: text.value, parent_id: replyTo });
  });
  let sent = model.get("sent");
  function cleared() {
    if (model.get("sent") !== sent) { sent = model.get("sent"); text.value = ""; setReply(null); }
  }
  setReply(null);
  const names = ["available", "threads", "thread", "info", "posts", "participation", "status", "problem", "me"];
  for (const name of names) model.on(`change:${name}`, update);
  model.on("change:sent", cleared);
  update();
  return () => { for (const name of names) model.off(`change:${name}`, update); model.off("change:sent", cleared); };
}
export default { render };
