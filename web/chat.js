// Glue between the deep-chat widget and Rasa's REST channel: deep-chat draws the
// chat; this maps Rasa's message list (text + buttons) onto it and keeps the
// sender id, so a reload continues the same conversation.
const config = window.MICRONEEDLING_CHAT || {};
const server = (config.server || "http://localhost:5005").replace(/\/$/, "");
const webhook = `${server}/webhooks/rest/webhook`;
const chat = document.getElementById("assistant");

const SENDER_KEY = "microneedling-chat-sender";
const BUTTONS_KEY = "microneedling-chat-buttons";
const HISTORY_KEY = "microneedling-chat-history";
const UNREACHABLE =
  "Sorry, I can't reach the assistant right now. Please check your connection and send your message again in a moment.";

let sender = localStorage.getItem(SENDER_KEY);
if (!sender) {
  sender = crypto.randomUUID();
  localStorage.setItem(SENDER_KEY, sender);
}

// Button titles shown so far, mapped to their payloads: a click sends the
// title as the user's message, and the payload is what Rasa receives.
const payloads = new Map(JSON.parse(localStorage.getItem(BUTTONS_KEY) || "[]"));

function escapeHtml(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

function toWidgetMessage(message) {
  if (!message.buttons || message.buttons.length === 0) {
    return { text: message.text };
  }
  for (const button of message.buttons) payloads.set(button.title, button.payload);
  localStorage.setItem(BUTTONS_KEY, JSON.stringify([...payloads]));
  const buttons = message.buttons
    .map((b) => `<button class="deep-chat-button deep-chat-suggestion-button" type="button">${escapeHtml(b.title)}</button>`)
    .join("");
  return { html: `<div class="topics"><p>${escapeHtml(message.text || "")}</p>${buttons}</div>` };
}

// Milliseconds before a message whose reply did not arrive is sent once more.
const RESEND_AFTER = 1500;

async function post(body) {
  const response = await fetch(webhook, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw Object.assign(new Error(`assistant answered ${response.status}`), { status: response.status });
  }
  return response.json();
}

// A message whose reply is lost (a server stopped mid-answer, the balancer
// answered 502) is sent again with the same id: the channel sends back the
// replies it already got, if it was handled, and never handles it twice.
async function ask(text) {
  const body = { sender, message: payloads.get(text) || text, message_id: crypto.randomUUID() };
  let replies;
  try {
    replies = await post(body);
  } catch (error) {
    if (error.status < 500) throw error; // refused (4xx): sending it again would not help
    await new Promise((resolve) => setTimeout(resolve, RESEND_AFTER));
    replies = await post({ ...body, resend: true });
  }
  return replies.map(toWidgetMessage);
}

chat.connect = {
  handler: async (body, signals) => {
    const text = body.messages[body.messages.length - 1].text || "";
    try {
      await signals.onResponse(await ask(text));
    } catch (error) {
      await signals.onResponse({ error: UNREACHABLE });
    }
  },
};
chat.errorMessages = { displayServiceErrorMessages: true };
chat.browserStorage = { key: HISTORY_KEY, maxMessages: 200 };
chat.remarkable = { html: false, linkTarget: "_blank" };
chat.textInput = { placeholder: { text: "Ask about microneedling…" } };
chat.messageStyles = {
  default: { shared: { bubble: { maxWidth: "85%" } } },
  html: { shared: { bubble: { backgroundColor: "unset", padding: "0", maxWidth: "100%" } } },
};
chat.auxiliaryStyle = `
  .topics p { margin: 0 0 0.4rem; }
  .topics button { display: block; margin: 0.3rem 0; text-align: left; }
`;

// deep-chat renders Markdown links, including javascript: ones. Keep http(s) and
// mailto links, opened in a new tab without access to this page; disarm the rest.
function disarmLinks(root) {
  for (const link of root.querySelectorAll("a[href]")) {
    if (!/^(https?:|mailto:)/i.test(link.getAttribute("href"))) {
      link.removeAttribute("href");
    } else {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
  }
}

// deep-chat's send button is an icon without a name for screen readers. It is
// labelled again after every change: deep-chat may redraw its input area.
function labelControls(root) {
  root.querySelector("#input .input-button")?.setAttribute("aria-label", "Send");
}

chat.addEventListener("render", () => {
  const root = chat.shadowRoot;
  const tidy = () => {
    disarmLinks(root);
    labelControls(root);
  };
  tidy();
  new MutationObserver(tidy).observe(root, { childList: true, subtree: true });
  // A new visitor is greeted with suggested questions; a returning one sees the stored chat.
  if (!localStorage.getItem(HISTORY_KEY)) {
    ask("/greet")
      .then((messages) => messages.forEach((m) => chat.addMessage(m)))
      .catch(() => chat.addMessage({ error: UNREACHABLE }));
  }
}, { once: true });
