/* Kontakt Telegram sandbox: plays Telegram users against the Bot API emulator.
 * No dependencies. All message content is inserted as text nodes (never innerHTML). */
(function () {
  "use strict";
  const CFG = JSON.parse(document.body.dataset.config);
  const API = CFG.api;
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k === "text") n.textContent = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) n.append(c);
    return n;
  };

  const state = {
    userId: null, chatId: null, threadId: null, version: 0, users: [], chats: [],
    messages: [], keyboard: null, keyboardForced: false, commands: [], replyTo: null,
    pollCtl: null, pollSeq: 0,
  };
  const LS = window.localStorage;

  // ------------------------------------------------------------------ HTTP
  async function api(path, opts) {
    const resp = await fetch(API + path, opts);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) throw new Error((data && data.error) || ("HTTP " + resp.status));
    return data;
  }
  const post = (path, body) => api(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });

  // ------------------------------------------------------------------ toast
  let toastTimer = null;
  function toast(text, kind) {
    const t = $("toast");
    t.textContent = text;
    t.className = "toast" + (kind ? " " + kind : "");
    t.hidden = false;
    clearTimeout(toastTimer);
    if (kind !== "alert") toastTimer = setTimeout(() => { t.hidden = true; }, 2500);
  }
  $("toast").addEventListener("click", () => { $("toast").hidden = true; });

  // ------------------------------------------------------------------ links
  const botName = (CFG.bot.username || "").toLowerCase();
  function botLink(href) {
    // https://t.me/<bot>?start=X, t.me/<bot>?startapp=X, tg://resolve?domain=<bot>&start=X
    let u;
    try { u = new URL(href, location.href); } catch (e) { return null; }
    let name = null;
    if (/^(www\.)?(t\.me|telegram\.me)$/i.test(u.hostname)) name = u.pathname.replace(/^\/+|\/+$/g, "");
    else if (u.protocol === "tg:" && /resolve/.test(u.hostname + u.pathname)) name = u.searchParams.get("domain");
    if (!name || name.toLowerCase() !== botName) return null;
    return { start: u.searchParams.get("start"), startapp: u.searchParams.get("startapp"), raw: u };
  }

  function openLink(href) {
    const b = botLink(href);
    if (b) {
      if (b.startapp !== null) { openWebApp(CFG.miniapp_url, b.startapp || null); return; }
      selectPrivateChat();
      sendText(b.start ? "/start " + b.start : "/start");
      return;
    }
    if (!/^(https?|tg|mailto|tel):/i.test(href)) return;
    window.open(href, "_blank", "noopener");
  }

  async function openWebApp(url, startParam) {
    if (!url || state.userId === null) return;
    const w = window.open("about:blank", "_blank");
    try {
      const q = new URLSearchParams({ user_id: state.userId });
      if (startParam) q.set("start_param", startParam);
      const d = await api("/initdata?" + q);
      const hash = "tgWebAppData=" + encodeURIComponent(d.init_data) +
        "&tgWebAppVersion=7.0&tgWebAppPlatform=web&tgWebAppThemeParams=" +
        encodeURIComponent(JSON.stringify(d.theme_params));
      const full = url.includes("#") ? url + "&" + hash : url + "#" + hash;
      if (w) { w.opener = null; w.location.href = full; } else window.open(full, "_blank");
    } catch (e) {
      if (w) w.close();
      toast(e.message, "error");
    }
  }

  // ------------------------------------------------------------------ entities -> DOM
  function entityNode(e, text) {
    switch (e.type) {
      case "bold": return el("b");
      case "italic": return el("i");
      case "underline": return el("u");
      case "strikethrough": return el("s");
      case "code": return el("code");
      case "pre": return el("pre", { "data-language": e.language });
      case "blockquote": case "expandable_blockquote": return el("blockquote");
      case "spoiler": {
        const s = el("span", { class: "spoiler", title: "spoiler" });
        s.addEventListener("click", () => s.classList.toggle("shown"));
        return s;
      }
      case "text_link": case "url": {
        let href = e.type === "url" ? text : e.url;
        if (e.type === "url" && !/^[a-z]+:/i.test(href)) href = "https://" + href;
        const a = el("a", { href: /^(https?|tg|mailto|tel):/i.test(href) ? href : "#",
                            target: "_blank", rel: "noopener noreferrer" });
        a.addEventListener("click", (ev) => { ev.preventDefault(); openLink(href); });
        return a;
      }
      case "email": return el("a", { href: "mailto:" + text });
      case "phone_number": return el("a", { href: "tel:" + text });
      case "bot_command": {
        const a = el("a", { href: "#", class: "cmd" });
        a.addEventListener("click", (ev) => { ev.preventDefault(); sendText(text.replace(/@\w+$/, "")); });
        return a;
      }
      case "mention": case "hashtag": case "cashtag": case "text_mention": case "custom_emoji":
        return el("span", { class: "ent-" + e.type });
      default: return null;
    }
  }

  function renderRange(text, ents, start, end, parent) {
    let pos = start;
    let i = 0;
    while (i < ents.length) {
      const e = ents[i];
      if (e.offset < pos || e.offset >= end) { i++; continue; }
      if (e.offset > pos) parent.append(text.slice(pos, e.offset));
      const eEnd = Math.min(e.offset + e.length, end);
      const children = [];
      let j = i + 1;
      while (j < ents.length && ents[j].offset < eEnd) { children.push(ents[j]); j++; }
      const node = entityNode(e, text.slice(e.offset, eEnd)) || document.createDocumentFragment();
      renderRange(text, children, e.offset, eEnd, node);
      parent.append(node);
      pos = eEnd;
      i = j;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  }

  function richText(text, entities) {
    const box = el("div", { class: "text" });
    const ents = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
    renderRange(text, ents, 0, text.length, box);
    return box;
  }

  // ------------------------------------------------------------------ rendering
  function userName(u) {
    if (!u) return "";
    return [u.first_name, u.last_name].filter(Boolean).join(" ");
  }

  function serviceText(m) {
    const who = m.from_bot ? CFG.bot.first_name : userName(m.from);
    if (m.forum_topic_created) return `${who} created the topic “${m.forum_topic_created.name}”`;
    if (m.forum_topic_edited) {
      return m.forum_topic_edited.name !== undefined
        ? `${who} renamed the topic to “${m.forum_topic_edited.name}”` : `${who} changed the topic icon`;
    }
    if (m.forum_topic_closed) return `${who} closed the topic`;
    if (m.forum_topic_reopened) return `${who} reopened the topic`;
    if (m.pinned_message) {
      const p = m.pinned_message;
      return `${who} pinned “${(p.text || p.caption || "a message").slice(0, 60)}”`;
    }
    if (m.new_chat_members) return `${m.new_chat_members.map(userName).join(", ")} joined the group`;
    if (m.left_chat_member) return `${userName(m.left_chat_member)} left the group`;
    return "service message";
  }

  function buttonKind(b) {
    if (b.url) return "↗";
    if (b.web_app) return "▣";
    if (b.login_url) return "🔑";
    if (b.switch_inline_query !== undefined || b.switch_inline_query_current_chat !== undefined) return "@";
    return null;
  }

  function onInlineButton(m, b) {
    if (b.callback_data !== undefined) return pressButton(m, b.callback_data);
    if (b.url) return openLink(b.url);
    if (b.web_app) return openWebApp(b.web_app.url, null);
    if (b.login_url) return openLink(b.login_url.url);
    if (b.switch_inline_query_current_chat !== undefined || b.switch_inline_query !== undefined) {
      const q = b.switch_inline_query_current_chat !== undefined ? b.switch_inline_query_current_chat : b.switch_inline_query;
      $("message-input").value = "@" + CFG.bot.username + " " + q;
      $("message-input").focus();
      return;
    }
    if (b.copy_text) {
      if (navigator.clipboard) navigator.clipboard.writeText(b.copy_text.text).catch(() => {});
      toast("Copied to clipboard");
      return;
    }
    toast("This button type is not supported in the sandbox");
  }

  function renderMessage(m) {
    if (m.is_service) {
      return el("div", { class: "service", "data-testid": "service-message", "data-message-id": m.message_id },
                serviceText(m));
    }
    const mine = !m.from_bot && m.from && m.from.id === state.userId;
    const wrap = el("div", {
      class: "msg-wrap " + (mine ? "right" : "left"),
      "data-testid": "message-wrap",
    });
    const bubble = el("div", {
      class: "msg", "data-testid": "message", "data-message-id": m.message_id,
      "data-from": m.from_bot ? "bot" : "user", "data-user-id": m.from ? m.from.id : "",
      id: "msg-" + m.message_id,
    });
    const isGroup = m.chat && m.chat.type !== "private";
    if (!mine && (isGroup || !m.from_bot)) {
      bubble.append(el("div", { class: "sender", text: m.from_bot ? CFG.bot.first_name : userName(m.from) }));
    }
    if (m.reply_to_message) {
      const r = m.reply_to_message;
      const q = el("div", { class: "quote", "data-testid": "reply-quote" },
                   el("b", { text: r.from && r.from.is_bot ? CFG.bot.first_name : userName(r.from) }),
                   el("div", { text: (r.text || r.caption || "…").slice(0, 90) }));
      q.addEventListener("click", () => {
        const t = document.getElementById("msg-" + r.message_id);
        if (t) t.scrollIntoView({ behavior: "smooth", block: "center" });
      });
      bubble.append(q);
    }
    if (m.forward_origin) bubble.append(el("div", { class: "sender", text: "Forwarded message" }));
    if (m.photo && m.file_url) bubble.append(el("img", { class: "photo", src: m.file_url, alt: "photo", loading: "lazy" }));
    if (m.document && m.file_url) {
      const d = m.document;
      bubble.append(el("div", { class: "doc", "data-testid": "document" }, "📄",
        el("a", { href: m.file_url, target: "_blank", rel: "noopener", text: d.file_name || "document" }),
        el("span", { class: "size", text: d.file_size ? ` ${Math.ceil(d.file_size / 1024)} KB` : "" })));
    }
    if (m.location) {
      const { latitude, longitude } = m.location;
      const href = `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=16/${latitude}/${longitude}`;
      bubble.append(el("div", { "data-testid": "location" }, "📍 ",
        el("a", { href, target: "_blank", rel: "noopener", text: `${latitude.toFixed(5)}, ${longitude.toFixed(5)}` })));
    }
    if (m.contact) {
      const c = m.contact;
      bubble.append(el("div", { "data-testid": "contact" }, "👤 ",
        el("b", { text: [c.first_name, c.last_name].filter(Boolean).join(" ") }), " ", c.phone_number));
    }
    if (m.text !== undefined) bubble.append(richText(m.text, m.entities));
    if (m.caption !== undefined) bubble.append(richText(m.caption, m.caption_entities));
    const time = new Date(m.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    bubble.append(el("div", { class: "meta" }, (m.edit_date ? "edited " : "") + time));
    bubble.addEventListener("dblclick", () => setReplyTo(m));
    wrap.append(bubble);
    const ik = m.reply_markup && m.reply_markup.inline_keyboard;
    if (ik && ik.length) {
      const kb = el("div", { class: "inline-kb", "data-testid": "inline-keyboard" });
      for (const row of ik) {
        const r = el("div", { class: "kb-row" });
        for (const b of row) {
          const kind = buttonKind(b);
          r.append(el("button", {
            type: "button", "data-testid": "inline-button", "data-message-id": m.message_id,
            "data-callback-data": b.callback_data, "data-url": b.url || (b.web_app && b.web_app.url),
            onclick: () => onInlineButton(m, b),
          }, b.text, kind ? el("span", { class: "kind", text: kind }) : null));
        }
        kb.append(r);
      }
      wrap.append(kb);
    }
    return wrap;
  }

  function renderMessages() {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    const nodes = state.messages.map(renderMessage);
    box.replaceChildren(...nodes);
    if (!nodes.length) {
      box.append(el("div", { class: "empty", id: "empty" },
                    "No messages yet. Say hi to the bot — try ", el("code", { text: "/start" }), "."));
    }
    if (atBottom || state.scrollToEnd) box.scrollTop = box.scrollHeight;
    state.scrollToEnd = false;
  }

  function renderKeyboard() {
    const kbBox = $("reply-keyboard");
    const kb = state.keyboard;
    const hidden = !kb || (kb._hidden && !state.keyboardForced);
    $("show-keyboard").hidden = !(kb && kb._hidden && !state.keyboardForced);
    kbBox.hidden = hidden;
    if (hidden) { kbBox.replaceChildren(); return; }
    const rows = (kb.keyboard || []).map((row) => {
      const r = el("div", { class: "kb-row" });
      for (const raw of row) {
        const b = typeof raw === "string" ? { text: raw } : raw;
        r.append(el("button", { type: "button", "data-testid": "reply-button", onclick: () => onReplyButton(b, kb) }, b.text));
      }
      return r;
    });
    kbBox.replaceChildren(...rows);
  }

  async function onReplyButton(b, kb) {
    if (kb.one_time_keyboard) state.keyboardForced = false;
    if (b.request_contact) return shareContact();
    if (b.request_location) return shareLocation();
    if (b.web_app) return openWebApp(b.web_app.url, null);
    return sendText(b.text);
  }

  function renderCommands() {
    const box = $("commands");
    const input = $("message-input").value;
    const filter = input.startsWith("/") ? input.slice(1).split(" ")[0].toLowerCase() : "";
    const cmds = state.commands.filter((c) => c.command.startsWith(filter));
    box.replaceChildren(...cmds.map((c) => el("button", {
      type: "button", "data-testid": "command-item", "data-command": c.command,
      onclick: () => { box.hidden = true; $("message-input").value = ""; sendText("/" + c.command); },
    }, el("b", { text: "/" + c.command }), el("span", { text: c.description }))));
    if (!cmds.length) box.hidden = true;
    $("commands-button").hidden = !state.commands.length;
  }

  function chatKey(c, topic) {
    return topic ? `${c.id}:${topic.message_thread_id}` : String(c.id);
  }

  function renderSelectors() {
    const ps = $("person-select");
    const prevUsers = ps.dataset.sig;
    const sig = JSON.stringify(state.users.map((u) => [u.id, u.first_name, u.last_name, u.language_code]));
    if (sig !== prevUsers) {
      ps.replaceChildren(...state.users.map((u) => el("option", { value: u.id },
        `${userName(u)}${u.username ? " @" + u.username : ""} (${u.language_code || "—"})`)));
      ps.dataset.sig = sig;
    }
    if (state.userId !== null) ps.value = String(state.userId);
    const cs = $("chat-select");
    const opts = [];
    for (const c of state.chats) {
      if (c.type === "private") {
        opts.push([String(c.id), `💬 ${c.title} (private chat with the bot)${c.blocked ? " — blocked" : ""}`]);
      } else if (c.is_forum) {
        opts.push([String(c.id), `👥 ${c.title} › General`]);
        for (const t of c.topics) opts.push([chatKey(c, t), `👥 ${c.title} › ${t.name}${t.is_closed ? " 🔒" : ""}`]);
      } else {
        opts.push([String(c.id), `👥 ${c.title}`]);
      }
    }
    const csig = JSON.stringify(opts);
    if (csig !== cs.dataset.sig) {
      cs.replaceChildren(...opts.map(([v, t]) => el("option", { value: v }, t)));
      cs.dataset.sig = csig;
    }
    const cur = state.threadId ? `${state.chatId}:${state.threadId}` : String(state.chatId);
    if (opts.some(([v]) => v === cur)) cs.value = cur;
    const chat = state.chats.find((c) => c.id === state.chatId);
    let title = chat ? chat.title : "";
    if (chat && chat.is_forum) {
      const t = chat.topics.find((x) => x.message_thread_id === state.threadId);
      title += " › " + (t ? t.name : "General");
    }
    $("chat-title").textContent = title;
    $("share-contact").hidden = !chat || chat.type !== "private";
  }

  // ------------------------------------------------------------------ polling
  function applySnapshot(d) {
    state.version = d.version;
    state.users = d.users || [];
    if (state.userId === null && state.users.length) {
      const saved = Number(LS.getItem("sandbox.user"));
      state.userId = state.users.some((u) => u.id === saved) ? saved : state.users[0].id;
      state.chatId = state.userId;
      state.version = 0;  // fetch this person's chats right away
    }
    if (d.chats) {
      state.chats = d.chats;
      if (!state.chats.some((c) => c.id === state.chatId)) { state.chatId = state.userId; state.threadId = null; }
    }
    if (d.messages) state.messages = d.messages;
    state.keyboard = d.keyboard || null;
    state.commands = d.commands || [];
    $("typing").textContent = d.typing ? `${CFG.bot.first_name} is ${d.typing === "typing" ? "typing" : d.typing.replace(/_/g, " ")}…` : "";
    renderSelectors();
    renderMessages();
    renderKeyboard();
    if (!$("commands").hidden) renderCommands();
    $("commands-button").hidden = !state.commands.length;
  }

  async function pollOnce(timeout) {
    if (state.pollCtl) state.pollCtl.abort();
    const ctl = new AbortController();
    state.pollCtl = ctl;
    const seq = ++state.pollSeq;
    const q = new URLSearchParams({ since: state.version, timeout: timeout });
    if (state.userId !== null) q.set("user_id", state.userId);
    if (state.chatId !== null) q.set("chat_id", state.chatId);
    if (state.threadId) q.set("thread_id", state.threadId);
    const d = await api("/poll?" + q, { signal: ctl.signal });
    if (seq === state.pollSeq && !ctl.signal.aborted) applySnapshot(d);
  }

  async function pollLoop() {
    for (;;) {
      try {
        await pollOnce(20);
      } catch (e) {
        if (e.name !== "AbortError") await new Promise((r) => setTimeout(r, 700));
      }
    }
  }

  function refresh() {
    // restart the long-poll loop with since=0: the server answers at once
    state.version = 0;
    state.scrollToEnd = true;
    if (state.pollCtl) state.pollCtl.abort();
  }

  // ------------------------------------------------------------------ actions
  function selectPrivateChat() {
    if (state.chatId !== state.userId) {
      state.chatId = state.userId;
      state.threadId = null;
    }
  }

  async function sendText(text) {
    if (!text.trim() || state.userId === null) return;
    const body = { user_id: state.userId, chat_id: state.chatId, text };
    if (state.threadId) body.thread_id = state.threadId;
    if (state.replyTo) body.reply_to = state.replyTo.message_id;
    setReplyTo(null);
    try {
      await post("/send", body);
      state.scrollToEnd = true;
      refresh();
    } catch (e) { toast(e.message, "error"); }
  }

  async function pressButton(m, data) {
    try {
      const r = await post("/press", { user_id: state.userId, chat_id: m.chat.id, message_id: m.message_id, data });
      const a = await api("/callback_answer?" + new URLSearchParams({ id: r.callback_query_id, timeout: 10 }));
      if (a.answer) {
        if (a.answer.text) toast(a.answer.text, a.answer.show_alert ? "alert" : null);
        if (a.answer.url) openLink(a.answer.url);
      } else {
        toast("The bot did not answer the button (no answerCallbackQuery)", "error");
      }
    } catch (e) { toast(e.message, "error"); }
  }

  async function shareContact() {
    try {
      await post("/contact", { user_id: state.userId, chat_id: state.chatId });
      refresh();
    } catch (e) { toast(e.message, "error"); }
  }

  async function shareLocation() {
    try {
      await post("/location", { user_id: state.userId, chat_id: state.chatId, latitude: 55.7558, longitude: 37.6173 });
      refresh();
    } catch (e) { toast(e.message, "error"); }
  }

  function setReplyTo(m) {
    state.replyTo = m;
    $("reply-to").hidden = !m;
    $("reply-to-text").textContent = m ? "Reply to: " + (m.text || m.caption || "message").slice(0, 60) : "";
    if (m) $("message-input").focus();
  }

  // ------------------------------------------------------------------ wiring
  $("person-select").addEventListener("change", (ev) => {
    state.userId = Number(ev.target.value);
    LS.setItem("sandbox.user", String(state.userId));
    state.chatId = state.userId;
    state.threadId = null;
    state.keyboardForced = false;
    setReplyTo(null);
    refresh();
  });
  $("chat-select").addEventListener("change", (ev) => {
    const [cid, tid] = ev.target.value.split(":");
    state.chatId = Number(cid);
    state.threadId = tid ? Number(tid) : null;
    state.keyboardForced = false;
    setReplyTo(null);
    refresh();
  });
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("message-input");
    const text = input.value;
    input.value = "";
    $("commands").hidden = true;
    sendText(text);
  });
  $("message-input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("message-input").addEventListener("input", () => {
    const v = $("message-input").value;
    if (v.startsWith("/") && !v.includes(" ") && state.commands.length) {
      $("commands").hidden = false;
      renderCommands();
    } else {
      $("commands").hidden = true;
    }
  });
  $("commands-button").addEventListener("click", () => {
    $("commands").hidden = !$("commands").hidden;
    renderCommands();
  });
  $("add-person").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $("add-person-name").value.trim();
    if (!name) return;
    try {
      const r = await post("/users", { first_name: name, language_code: $("add-person-lang").value });
      $("add-person-name").value = "";
      state.userId = r.user.id;
      state.chatId = r.user.id;
      state.threadId = null;
      LS.setItem("sandbox.user", String(state.userId));
      toast(`${userName(r.user)} joined Telegram`);
      refresh();
    } catch (e) { toast(e.message, "error"); }
  });
  $("open-app").addEventListener("click", () => openWebApp(CFG.miniapp_url, null));
  $("open-app").hidden = !CFG.miniapp_url;
  $("share-contact").addEventListener("click", shareContact);
  $("share-location").addEventListener("click", shareLocation);
  $("show-keyboard").addEventListener("click", () => { state.keyboardForced = true; renderKeyboard(); });
  $("reply-cancel").addEventListener("click", () => setReplyTo(null));
  $("file-input").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    if (!f || state.userId === null) return;
    const fd = new FormData();
    fd.append("user_id", state.userId);
    fd.append("chat_id", state.chatId);
    fd.append("caption", $("message-input").value);
    fd.append("file", f, f.name);
    $("message-input").value = "";
    ev.target.value = "";
    try {
      await api("/document", { method: "POST", body: fd });
      refresh();
    } catch (e) { toast(e.message, "error"); }
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });

  pollLoop();
  window.sandbox = { state, refresh, sendText };
})();
