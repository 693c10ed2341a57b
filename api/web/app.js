// The zalodesk agent console: plain JavaScript, no framework, no build step.
// Everything it shows comes from the API with the agent's token (kept in sessionStorage);
// the stream (/api/stream) says when something changed, and the page fetches it again.
"use strict";

const TOKEN_KEY = "zalodesk.token";
const PAGE = { chats: 50, tickets: 50 };
const REFRESH_DELAY_MS = 150;
const POLL_MS = 5000; // while the stream is not connected
const WARNING_MS = 120000;
const NEARING_POLL_MS = 3000;
const TICKS = { queued: "\u25F7", sent: "\u2713", delivered: "\u2713\u2713", seen: "\u2713\u2713", failed: "\u2715" };

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  accounts: new Map(), // id -> {name, allow_postpone}
  noPostpone: new Set(), // accounts that refused a postpone
  chats: [], chatsCursor: null, chatsMore: false,
  chat: null,
  tickets: [], ticketsCursor: null,
  ticket: null,
  route: { view: "inbox", id: null },
  stream: null, lastEventId: null, retryMs: 1000, live: false, refreshedAt: 0,
};

// --- small helpers ------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Only web addresses go into a link or an image: never javascript: or data: from a payload.
function safeUrl(value) {
  return typeof value === "string" && /^https?:\/\//i.test(value) ? value : null;
}

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function when(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  return today
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

function duration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

function customerName(customer) {
  if (!customer) return "No customer";
  if (customer.display_name) return customer.display_name;
  return customer.anonymous ? `Visitor ${customer.zalo_user_id}` : customer.zalo_user_id;
}

function avatar(customer) {
  const src = safeUrl(customer && customer.avatar);
  if (src) return el("img", { class: "avatar", src, alt: "", referrerpolicy: "no-referrer" });
  const initial = customer && customer.display_name ? customer.display_name.trim()[0] : "#";
  return el("span", { class: "avatar initials", "aria-hidden": "true" }, initial || "#");
}

// "agent:<token id>" -> "agent 1a2b3c4d": who, without the whole id (a UUID's first part).
function actorName(actor) {
  const [kind, id] = String(actor || "").split(":");
  if (!id) return kind;
  return `${kind} ${/^[0-9a-f]{8}-/.test(id) ? id.slice(0, 8) : id}`;
}

function accountName(id) {
  const account = state.accounts.get(id);
  return account && account.name ? account.name : `account ${String(id).slice(0, 8)}`;
}

// What was drawn last, by part: a part whose data did not change is left as it is, so a
// refresh keeps the agent's text selection, focus and scroll.
const drawn = {};
function unchanged(part, ...data) {
  const text = JSON.stringify(data);
  if (drawn[part] === text) return true;
  drawn[part] = text;
  return false;
}

// --- messages to the agent ----------------------------------------------------------

function toast(text, kind) {
  const node = el("div", { class: `toast ${kind || "info"}`, role: kind === "error" ? "alert" : null }, text);
  $("toasts").append(node);
  setTimeout(() => node.remove(), kind === "error" ? 10000 : 4000);
}

class ApiError extends Error {
  constructor(status, title, description) {
    super(description || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
  }
}

function showError(error) {
  toast(error instanceof ApiError ? `${error.title}: ${error.message}` : String(error.message || error), "error");
}

// --- the API ------------------------------------------------------------------------

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let answer;
  try {
    answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "No connection", "The service cannot be reached; try again shortly.");
  }
  const text = await answer.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (error) { data = null; }
  if (!answer.ok) {
    const error = new ApiError(answer.status, (data && data.title) || `HTTP ${answer.status}`,
      (data && data.description) || text.slice(0, 200));
    // A token that stopped working signs the agent out (not one being tried at sign-in).
    if (answer.status === 401 && sessionStorage.getItem(TOKEN_KEY)) signOut(`Signed out: ${error.message}`);
    throw error;
  }
  return data;
}

function query(params) {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== "" && value !== null && value !== undefined)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

// --- signing in and out -------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  state.token = token;
  $("signin-error").hidden = true;
  try {
    await api("GET", "/api/chats?limit=1");
  } catch (error) {
    state.token = null;
    $("signin-error").textContent = error.message;
    $("signin-error").hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  start();
}

function signOut(why) {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  stopStream();
  // Nothing of what this agent saw stays on the page for the next one.
  state.chat = state.ticket = null;
  state.chats = [];
  state.tickets = [];
  state.lastEventId = null;
  renderChats();
  renderTickets();
  renderChat();
  renderTicket();
  showSignedIn(false);
  if (typeof why === "string") toast(why, "error");
}

function showSignedIn(yes) {
  $("signin").hidden = yes;
  $("tabs").hidden = $("sign-out").hidden = $("live").hidden = !yes;
  if (!yes) { $("inbox").hidden = $("tickets").hidden = true; $("token").focus(); }
}

async function start() {
  showSignedIn(true);
  await loadAccounts();
  openStream();
  route();
}

async function loadAccounts() {
  try {
    const answer = await api("GET", "/api/accounts");
    for (const account of answer.accounts) state.accounts.set(account.id, account);
  } catch (error) {
    // Agents may not list accounts (admin only): the filters learn them from what they see.
  }
  fillAccountFilters();
}

function learnAccounts(items) {
  let added = false;
  for (const item of items) {
    if (item.account_id && !state.accounts.has(item.account_id)) {
      state.accounts.set(item.account_id, { id: item.account_id });
      added = true;
    }
  }
  if (added) fillAccountFilters();
}

function fillAccountFilters() {
  for (const select of document.querySelectorAll(".account-filter")) {
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "All accounts"),
      ...[...state.accounts.keys()].map((id) => el("option", { value: id }, accountName(id))));
    select.value = chosen;
  }
}

// --- views and routes: #/inbox[/CHAT] and #/tickets[/TICKET] -------------------------

function route() {
  if (!state.token) return;
  const [, view, id] = (location.hash || "#/inbox").split("/");
  state.route = { view: view === "tickets" ? "tickets" : "inbox", id: id || null };
  $("inbox").hidden = state.route.view !== "inbox";
  $("tickets").hidden = state.route.view !== "tickets";
  $("tab-inbox").classList.toggle("current", state.route.view === "inbox");
  $("tab-tickets").classList.toggle("current", state.route.view === "tickets");
  document.body.classList.toggle("detail-open", Boolean(state.route.id));
  if (state.route.view === "inbox") {
    if (!state.chat || state.chat.id !== state.route.id) { state.chat = null; renderChat(); }
  } else if (!state.ticket || state.ticket.id !== state.route.id) {
    state.ticket = null; renderTicket();
  }
  refresh();
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, REFRESH_DELAY_MS);
}

async function refresh() {
  if (!state.token) return;
  state.refreshedAt = Date.now();
  const jobs = [loadChats(false)];
  if (state.route.view === "inbox" && state.route.id) jobs.push(loadShown(`/api/chats/${state.route.id}`));
  if (state.route.view === "tickets") {
    jobs.push(loadTickets(false));
    if (state.route.id) jobs.push(loadShown(`/api/tickets/${state.route.id}`));
  }
  const results = await Promise.allSettled(jobs);
  const failed = results.find((result) => result.status === "rejected");
  if (failed && state.token) showError(failed.reason);
}

// --- the chat inbox -----------------------------------------------------------------

function chatFilters() {
  return { assignee: $("assignee-filter").value, account_id: $("chat-account-filter").value };
}

// One load of a list at a time: each starts from what the one before it left (its pages
// and cursor), so a refresh that lands after "Load more" cannot drop the page it added.
function oneAtATime(load) {
  let last = Promise.resolve();
  return (...args) => {
    const next = last.then(() => load(...args));
    last = next.catch(() => {});
    return next;
  };
}

// more=false: the pages shown, fetched again as one; more=true: the next page after them.
const loadChats = oneAtATime(async (more) => {
  const limit = more ? PAGE.chats : Math.max(PAGE.chats, state.chats.length);
  const params = { ...chatFilters(), limit: Math.min(limit, 1000), cursor: more ? state.chatsCursor : "" };
  const answer = await api("GET", `/api/chats${query(params)}`);
  state.chats = more ? state.chats.concat(answer.chats) : answer.chats;
  state.chatsCursor = answer.next_cursor || null;
  state.chatsMore = Boolean(answer.has_more && answer.next_cursor);
  learnAccounts(answer.chats);
  renderIndicator(answer.indicator);
  renderCounts(answer.counts);
  renderChats();
});

function renderIndicator(indicator) {
  const fresh = indicator ? indicator.new_chats : 0;
  const unread = indicator ? indicator.unread_chats : 0;
  $("indicator").hidden = !fresh;
  $("indicator").textContent = fresh ? String(fresh) : "";
  $("unread-chats").hidden = !unread;
  $("unread-chats").textContent = unread ? String(unread) : "";
  document.title = fresh ? `(${fresh}) zalodesk console` : "zalodesk console";
}

function renderCounts(counts) {
  if (!counts) return;
  const labels = { "": ["All chats", counts.all], me: ["Assigned to me", counts.me], none: ["Unassigned", counts.none] };
  for (const option of $("assignee-filter").options) {
    const [label, count] = labels[option.value];
    option.textContent = count === undefined ? label : `${label} (${count})`;
  }
}

function canPostpone(accountId) {
  const account = state.accounts.get(accountId);
  if (account && account.allow_postpone === false) return false;
  return !state.noPostpone.has(accountId);
}

function renderChats() {
  if (unchanged("chats", state.chats, state.chatsMore, [...state.noPostpone], state.route.id)) return;
  const list = $("chat-list");
  list.replaceChildren(...state.chats.map(chatItem));
  $("chat-empty").hidden = state.chats.length > 0;
  $("chats-more").hidden = !state.chatsMore;
  tick();
}

function chatItem(chat) {
  const last = chat.last_message;
  const classes = ["item", "chat-item"];
  if (chat.new) classes.push("new");
  if (chat.ending_soon) classes.push("ending");
  if (state.route.id === chat.id) classes.push("selected");
  return el("li", { class: classes.join(" "), dataset: { chatId: chat.id } },
    el("a", { href: `#/inbox/${chat.id}`, class: "item-link" },
      avatar(chat.customer),
      el("div", { class: "item-body" },
        el("div", { class: "line" },
          chat.new ? el("span", { class: "dot", title: "New chat" }) : null,
          el("strong", { class: "name" }, customerName(chat.customer)),
          el("span", { class: "spacer" }),
          chat.unread_count ? el("span", { class: "badge unread", title: "Unread messages" }, chat.unread_count) : null),
        el("div", { class: "line preview" },
          last && last.direction === "out" ? statusMark(last) : null,
          last ? preview(last) : ""),
        el("div", { class: "line small" },
          el("span", { class: "account" }, accountName(chat.account_id)),
          chat.assignee ? el("span", { class: "assignee" }, `\u2192 ${chat.assignee}`) : null,
          chat.waiting_since ? el("span", { class: "waiting", dataset: { since: chat.waiting_since } }) : null,
          chat.ending_soon && chat.auto_end_at ? el("span", { class: "ends", dataset: { until: chat.auto_end_at } }) : null))),
    chat.ending_soon && canPostpone(chat.account_id)
      ? el("button", { type: "button", class: "quiet postpone-item", onclick: () => postpone(chat) }, "Postpone")
      : null);
}

function preview(message) {
  if (message.text) return message.text;
  return `[${message.kind.replace("_", " ")}]`;
}

// Every second: how long customers have waited, and how long until chats end. A chat
// nears its warning time with no event to say so: within the longest warning (2 min) of
// its end, the inbox is asked again every few seconds until it says "ending soon".
function tick() {
  const now = Date.now();
  const nearing = state.chats.some((chat) => !chat.ending_soon && chat.auto_end_at &&
    Date.parse(chat.auto_end_at) - now < WARNING_MS);
  if (nearing && state.token && now - state.refreshedAt > NEARING_POLL_MS) refresh();
  for (const node of document.querySelectorAll("[data-since]")) {
    node.textContent = `waiting ${duration(now - Date.parse(node.dataset.since))}`;
  }
  for (const node of document.querySelectorAll("[data-until]")) {
    const left = Date.parse(node.dataset.until) - now;
    node.textContent = left > 0 ? `ends in ${duration(left)}` : "ending\u2026";
  }
}

// --- one chat -----------------------------------------------------------------------

// The chat or ticket the route shows, unless the agent has moved on meanwhile.
async function loadShown(path) {
  const { view, id } = state.route;
  const found = await api("GET", path);
  if (state.route.view !== view || state.route.id !== id) return;
  if (view === "inbox") { state.chat = found; renderChat(); } else { state.ticket = found; renderTicket(); }
}

function renderChat() {
  const chat = state.chat;
  $("chat").hidden = !chat;
  $("chat-pane").querySelector(".placeholder").hidden = Boolean(chat);
  for (const node of document.querySelectorAll(".chat-item")) {
    node.classList.toggle("selected", Boolean(chat) && node.dataset.chatId === chat.id);
  }
  if (!chat || unchanged("chat", chat, [...state.noPostpone])) return;
  $("chat-avatar").replaceChildren(avatar(chat.customer));
  $("chat-title").textContent = customerName(chat.customer);
  const meta = [accountName(chat.account_id)];
  if (chat.customer && chat.customer.display_name) meta.push(`Zalo ${chat.customer.zalo_user_id}`);
  if (chat.started_at) meta.push(`since ${when(chat.started_at)}`);
  $("chat-meta").replaceChildren(
    chat.status ? el("span", { class: `status status-${chat.status}` }, chat.status) : "",
    chat.status ? " " : "",
    meta.join(" \u00b7 "),
    chat.assignee ? el("span", { class: "assignee" }, ` \u00b7 assigned to ${chat.assignee}`) : "",
    chat.active === false ? el("span", { class: "ended" }, " \u00b7 ended") : "",
    chat.waiting_since ? " \u00b7 " : "",
    chat.waiting_since ? el("span", { class: "waiting", dataset: { since: chat.waiting_since } }) : "");
  const active = chat.active !== false;
  for (const id of ["mark-read", "assign-me", "end-chat", "end-status"]) $(id).hidden = !active;
  $("mark-read").disabled = !chat.unread_count;
  $("postpone").hidden = !(active && chat.auto_end_at && canPostpone(chat.account_id));
  $("countdown").hidden = !(active && chat.auto_end_at);
  $("countdown").dataset.until = chat.auto_end_at || "";
  $("countdown").classList.toggle("ending", Boolean(chat.ending_soon));
  const transcript = $("transcript");
  const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
  transcript.replaceChildren(...chat.messages.map(messageItem));
  if (atBottom || transcript.dataset.chatId !== chat.id) transcript.scrollTop = transcript.scrollHeight;
  transcript.dataset.chatId = chat.id;
  tick();
}

function messageItem(message) {
  const out = message.direction === "out";
  const classes = ["message", out ? "out" : "in", `kind-${message.kind}`];
  if (message.status === "failed") classes.push("failed");
  return el("li", { class: classes.join(" "), dataset: { messageId: message.id, status: message.status } },
    el("div", { class: "bubble" },
      messageBody(message),
      el("div", { class: "stamp" },
        out ? el("span", { class: "author", title: message.author }, actorName(message.author)) : null,
        el("time", { datetime: message.sent_at || "" }, when(message.sent_at)),
        out ? statusMark(message) : null),
      message.status === "failed" ? failure(message) : null));
}

function statusMark(message) {
  const status = message.status || "";
  if (!TICKS[status]) return null;
  return el("span", { class: `tick ${status}`, title: status, dataset: { status } },
    TICKS[status], el("span", { class: "tick-label" }, status));
}

function failure(message) {
  const error = message.error;
  let reason = "not delivered";
  if (typeof error === "string") reason = error;
  else if (error && error.reason) reason = error.code === null || error.code === undefined ? error.reason : `${error.reason} (Zalo error ${error.code})`;
  return el("div", { class: "failure" },
    el("span", { class: "reason" }, `Not delivered: ${reason}`),
    message.attempts > 1 ? el("span", { class: "attempts" }, ` after ${message.attempts} attempts`) : null,
    el("button", { type: "button", class: "retry", onclick: () => retry(message) }, "Retry"));
}

function messageBody(message) {
  const parts = [];
  const attachments = Array.isArray(message.attachments) ? message.attachments : [];
  for (const attachment of attachments) parts.push(attachmentView(message, attachment));
  const card = message.kind === "business_card";
  if (message.text && !card) parts.push(el("p", { class: "text" }, message.text));
  if (!parts.length) parts.push(el("p", { class: "text muted" }, `[${message.kind.replace("_", " ")}]`));
  if (card && !attachments.length) parts.push(el("p", { class: "text" }, message.text));
  return el("div", { class: "content" }, parts);
}

function attachmentView(message, item) {
  const type = item.type || message.kind;
  const url = safeUrl(item.url);
  const thumbnail = safeUrl(item.thumbnail);
  if (type === "image" || type === "gif" || type === "sticker") {
    const src = url || thumbnail;
    if (!src) return el("p", { class: "text muted" }, `[${type}]`);
    return el("a", { href: src, target: "_blank", rel: "noopener noreferrer", class: `media ${type}` },
      el("img", { src, alt: type, loading: "lazy", referrerpolicy: "no-referrer" }));
  }
  if (type === "location") {
    const at = item.coordinates || {};
    const where = `${at.latitude}, ${at.longitude}`;
    const map = `https://www.openstreetmap.org/?mlat=${encodeURIComponent(at.latitude)}&mlon=${encodeURIComponent(at.longitude)}#map=17/${encodeURIComponent(at.latitude)}/${encodeURIComponent(at.longitude)}`;
    return el("a", { href: map, target: "_blank", rel: "noopener noreferrer", class: "location" }, `Location: ${where} (map)`);
  }
  if (type === "business_card") {
    return el("div", { class: "card-item" },
      thumbnail ? el("img", { class: "avatar", src: thumbnail, alt: "", referrerpolicy: "no-referrer" }) : null,
      el("div", {},
        el("strong", {}, message.text || item.name || "Business card"),
        item.phone ? el("div", {}, el("a", { href: `tel:${item.phone}` }, item.phone)) : null,
        url ? el("div", {}, el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "Zalo profile")) : null));
  }
  const labels = { file: item.name || "File", audio: "Voice message", video: item.description || "Video", link: item.description || url || "Link" };
  const label = labels[type] || type;
  const size = type === "file" && item.size ? ` (${Math.round(Number(item.size) / 1024)} KB)` : "";
  if (!url) return el("p", { class: "text muted" }, `${label}${size}`);
  return el("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: `attachment ${type}` },
    `${type === "file" ? "File: " : ""}${label}${size}`);
}

// --- what an agent does to a chat ---------------------------------------------------

async function act(work) {
  try {
    await work();
  } catch (error) {
    showError(error);
  }
  refreshSoon();
}

let pendingReply = null; // the text and id of a reply not yet accepted, sent again as one
async function sendReply(event) {
  event.preventDefault();
  const text = $("reply-text").value;
  if (!text.trim() || !state.chat) return;
  if (!pendingReply || pendingReply.text !== text) pendingReply = { text, id: newId() };
  $("reply-send").disabled = true;
  try {
    const answer = await api("POST", `/api/chats/${state.chat.id}/messages`, { text, client_message_id: pendingReply.id });
    pendingReply = null;
    $("reply-text").value = "";
    if (answer.chat_id !== state.chat.id) location.hash = `#/inbox/${answer.chat_id}`;
  } catch (error) {
    showError(error);
  } finally {
    $("reply-send").disabled = false;
  }
  refreshSoon();
}

function retry(message) {
  act(async () => {
    await api("POST", `/api/replies/${message.id}/retry`);
    toast("Sending again", "info");
  });
}

function postpone(chat) {
  act(async () => {
    try {
      const answer = await api("POST", `/api/chats/${chat.id}/postpone`);
      toast(`Chat ends at ${when(answer.auto_end_at)} at the earliest`, "info");
    } catch (error) {
      if (error.status === 409) {
        state.noPostpone.add(chat.account_id);
        renderChats();
        renderChat();
      }
      throw error;
    }
  });
}

function endChat() {
  const chat = state.chat;
  if (!chat) return;
  const status = $("end-status").value;
  act(async () => {
    const answer = await api("POST", `/api/chats/${chat.id}/end`, status ? { status } : {});
    toast(`Chat ended: the ticket is in the ticket list as ${answer.status}`, "info");
    $("end-status").value = "";
    location.hash = "#/inbox";
  });
}

function markRead() {
  if (state.chat) act(() => api("POST", `/api/chats/${state.chat.id}/read`));
}

function assignToMe() {
  if (state.chat) act(() => api("POST", `/api/chats/${state.chat.id}/assign`, { assignee: "me" }));
}

function changeTicket(changes) {
  const ticket = state.ticket;
  if (ticket) act(() => api("PATCH", `/api/tickets/${ticket.id}`, changes));
}

// --- the ticket list ----------------------------------------------------------------

const loadTickets = oneAtATime(async (more) => {
  const limit = more ? PAGE.tickets : Math.max(PAGE.tickets, state.tickets.length);
  const params = {
    status: $("status-filter").value,
    account_id: $("ticket-account-filter").value,
    limit: Math.min(limit, 200),
    cursor: more ? state.ticketsCursor : "",
  };
  const answer = await api("GET", `/api/tickets${query(params)}`);
  state.tickets = more ? state.tickets.concat(answer.tickets) : answer.tickets;
  state.ticketsCursor = answer.next_cursor || null;
  learnAccounts(answer.tickets);
  renderTickets();
});

function renderTickets() {
  if (unchanged("tickets", state.tickets, state.ticketsCursor, state.route.id)) return;
  $("ticket-list").replaceChildren(...state.tickets.map(ticketItem));
  $("ticket-empty").hidden = state.tickets.length > 0;
  $("tickets-more").hidden = !state.ticketsCursor;
}

function ticketItem(ticket) {
  const selected = state.route.view === "tickets" && state.route.id === ticket.id;
  return el("li", { class: `item ticket-item${selected ? " selected" : ""}`, dataset: { ticketId: ticket.id, status: ticket.status } },
    el("a", { href: `#/tickets/${ticket.id}`, class: "item-link" },
      avatar(ticket.customer),
      el("div", { class: "item-body" },
        el("div", { class: "line" },
          el("strong", { class: "name" }, customerName(ticket.customer)),
          el("span", { class: "spacer" }),
          el("span", { class: `status status-${ticket.status}` }, ticket.status)),
        el("div", { class: "line preview" }, ticket.subject || (ticket.last_message ? preview(ticket.last_message) : "")),
        el("div", { class: "line small" },
          el("span", {}, ticket.kind === "chat" ? `chat \u00d7${ticket.chat_count}` : "message"),
          ticket.account_id ? el("span", { class: "account" }, accountName(ticket.account_id)) : null,
          ticket.assignee ? el("span", { class: "assignee" }, `\u2192 ${ticket.assignee}`) : null,
          el("span", {}, when(ticket.updated_at))))));
}

function renderTicket() {
  const ticket = state.ticket;
  $("ticket").hidden = !ticket;
  $("ticket-pane").querySelector(".placeholder").hidden = Boolean(ticket);
  if (!ticket || unchanged("ticket", ticket)) return;
  $("ticket-avatar").replaceChildren(avatar(ticket.customer));
  $("ticket-title").textContent = ticket.subject || customerName(ticket.customer);
  $("ticket-meta").replaceChildren(
    el("span", { class: `status status-${ticket.status}` }, ticket.status), " ",
    customerName(ticket.customer),
    ticket.account_id ? ` \u00b7 ${accountName(ticket.account_id)}` : "",
    ticket.assignee ? ` \u00b7 assigned to ${ticket.assignee}` : "",
    ticket.tags && ticket.tags.length ? ` \u00b7 tags: ${ticket.tags.join(", ")}` : "",
    ticket.active_chat_id ? el("a", { href: `#/inbox/${ticket.active_chat_id}` }, " \u00b7 open chat") : "");
  $("ticket-status").value = ticket.status;
  $("ticket-sessions").replaceChildren(...(ticket.chats || []).map(session));
  $("status-history").replaceChildren(...(ticket.status_history || []).map((change) =>
    el("li", { dataset: { status: change.status } }, el("span", { class: `status status-${change.status}` }, change.status),
      ` ${when(change.at)} by ${actorName(change.actor)}`, change.reason ? ` \u2014 ${change.reason}` : "")));
}

function session(chat, index) {
  const title = chat.id
    ? `Chat ${index + 1}: ${when(chat.started_at)}${chat.ended_at ? ` \u2013 ${when(chat.ended_at)}` : " (active)"}`
    : "Messages";
  const ended = chat.end_reason ? ` ended: ${chat.end_reason}${chat.ended_by ? ` by ${actorName(chat.ended_by)}` : ""}` : "";
  return el("section", { class: "session" },
    el("h3", {}, title, el("span", { class: "muted" }, ended)),
    el("ol", { class: "transcript" }, chat.messages.map(messageItem)));
}

// --- the live stream ----------------------------------------------------------------

function setLive(live, text) {
  state.live = live;
  $("live").textContent = text;
  $("live").className = `live ${live ? "on" : "off"}`;
}

async function openStream() {
  stopStream();
  if (!state.token) return;
  let token;
  try {
    token = (await api("POST", "/api/stream/tokens")).token;
  } catch (error) {
    setLive(false, error.status === 404 ? "polling" : "reconnecting\u2026");
    reopenLater();
    return;
  }
  const source = new EventSource(`/api/stream${query({ token, last_event_id: state.lastEventId })}`);
  state.stream = source;
  source.onopen = () => { state.retryMs = 1000; setLive(true, "live"); };
  const heard = (event) => {
    if (event.lastEventId) state.lastEventId = event.lastEventId;
    refreshSoon();
  };
  for (const topic of ["chat", "ticket", "reply", "contact"]) source.addEventListener(topic, heard);
  source.onerror = () => {
    // The token may have expired: a new one, and the stream again from the last event seen.
    source.close();
    if (state.stream !== source) return;
    state.stream = null;
    setLive(false, "reconnecting\u2026");
    reopenLater();
  };
}

let reopenTimer = null;
function reopenLater() {
  clearTimeout(reopenTimer);
  reopenTimer = setTimeout(openStream, state.retryMs);
  state.retryMs = Math.min(state.retryMs * 2, 30000);
}

function stopStream() {
  clearTimeout(reopenTimer);
  if (state.stream) state.stream.close();
  state.stream = null;
  state.live = false;
}

// While the stream is away, the page asks now and then instead.
setInterval(() => { if (state.token && !state.live && !document.hidden) refresh(); }, POLL_MS);
setInterval(tick, 1000);

// --- wiring -------------------------------------------------------------------------

function wire() {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("reply-form").addEventListener("submit", sendReply);
  $("reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) sendReply(event);
  });
  $("mark-read").addEventListener("click", markRead);
  $("assign-me").addEventListener("click", assignToMe);
  $("postpone").addEventListener("click", () => state.chat && postpone(state.chat));
  $("end-chat").addEventListener("click", endChat);
  $("ticket-assign-me").addEventListener("click", () => changeTicket({ assignee: "me" }));
  $("ticket-set-status").addEventListener("click", () => changeTicket({ status: $("ticket-status").value }));
  $("chats-more").addEventListener("click", () => loadChats(true).catch(showError));
  $("tickets-more").addEventListener("click", () => loadTickets(true).catch(showError));
  for (const id of ["assignee-filter", "chat-account-filter"]) {
    $(id).addEventListener("change", () => { state.chats = []; loadChats(false).catch(showError); });
  }
  for (const id of ["status-filter", "ticket-account-filter"]) {
    $(id).addEventListener("change", () => { state.tickets = []; loadTickets(false).catch(showError); });
  }
  window.addEventListener("hashchange", route);
  if (state.token) start(); else showSignedIn(false);
}

wire();
