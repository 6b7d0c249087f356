// Every portal page tells open chat tabs who is signed in now ("" for nobody):
// a chat tab whose person logged out, or was replaced, ends its XMPP session.
if ("BroadcastChannel" in window) {
  const channel = new BroadcastChannel("chatboard-session");
  channel.postMessage({ user: document.body.dataset.user || "" });
  channel.close();
}
