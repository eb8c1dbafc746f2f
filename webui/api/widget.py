"""An ask box an OA portal pastes into its own pages:

    <script src="http://服务器:7860/widget.js" data-key="pqa-…" data-title="政策问答"></script>

The script puts an iframe of `/widget` after itself; the key travels in the iframe's fragment
(never sent to the server in an address, so never in its logs) and the widget sends it with each
question to `/api/v1/ask`. Use a key made with `--scope ask`: it can ask and search, nothing else.
Answers show their points with [n] and the sources, each a link to its section on the page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

WIDGET_JS = r"""(function () {
  var me = document.currentScript;
  var base = new URL(me.src).origin;
  var frame = document.createElement("iframe");
  frame.src = base + "/widget#key=" + encodeURIComponent(me.getAttribute("data-key") || "") +
    "&title=" + encodeURIComponent(me.getAttribute("data-title") || "政策问答");
  frame.title = me.getAttribute("data-title") || "政策问答";
  frame.className = "policyqa-widget";
  frame.style.cssText = "width:" + (me.getAttribute("data-width") || "100%") + ";height:" +
    (me.getAttribute("data-height") || "480px") + ";border:1px solid #d0d7de;border-radius:8px;";
  me.parentNode.insertBefore(frame, me.nextSibling);
})();
"""

WIDGET_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>政策问答</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 10px; font-size: 14px; color: #1f2328;}
form {display: flex; gap: 6px;} input {flex: 1; padding: 6px; font-size: 14px;}
button {padding: 6px 12px;} .point {margin: 6px 0;} .src {font-size: 12px; color: #57606a; margin: 3px 0;}
.msg {color: #9a6700;} h1 {font-size: 15px; margin: 0 0 8px;}
</style></head><body>
<h1 id="pq-w-title">政策问答</h1>
<form id="pq-w-form"><input id="pq-w-q" placeholder="输入问题，例如：近视防控有什么目标" maxlength="500">
<button id="pq-w-ask" type="submit">提问</button></form>
<div id="pq-w-out"></div>
<script>
var params = new URLSearchParams(location.hash.slice(1));
var key = params.get("key") || "";
document.getElementById("pq-w-title").textContent = params.get("title") || "政策问答";
var last = "";
function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; return e; }
document.getElementById("pq-w-form").addEventListener("submit", function (ev) {
  ev.preventDefault();
  var q = document.getElementById("pq-w-q").value.trim(), out = document.getElementById("pq-w-out");
  if (!q) return;
  out.replaceChildren(el("div", "msg", "正在查找……"));
  fetch("/api/v1/ask", {method: "POST", headers: {"Content-Type": "application/json",
        "Authorization": "Bearer " + key}, body: JSON.stringify({question: q, follow_up_of: last})})
    .then(function (r) { return r.json(); })
    .then(function (a) {
      out.replaceChildren();
      if (a.error) { out.append(el("div", "msg", a.error.message)); return; }
      last = a.understood || q;
      if (a.status !== "ok") { out.append(el("div", "msg", a.message)); return; }
      if (a.gap) out.append(el("div", "msg", a.gap));
      if (a.lead) out.append(el("div", "point", a.lead));
      a.points.forEach(function (p, i) {
        out.append(el("div", "point", (i + 1) + ". " + p.text + p.citations.map(function (n) {
          return "[" + n + "]"; }).join("")));
      });
      var cited = {}; a.points.forEach(function (p) { p.citations.forEach(function (n) { cited[n] = 1; }); });
      a.passages.forEach(function (p) {
        if (!cited[p.rank]) return;
        var line = el("div", "src", "[" + p.rank + "] "), link = el("a", "", p.citation);
        link.href = p.link; link.target = "_blank"; line.append(link); out.append(line);
      });
    })
    .catch(function () { out.replaceChildren(el("div", "msg", "无法连接服务器，请稍后再试。")); });
});
</script></body></html>
"""


async def widget_js(request: Request) -> Response:
    return Response(WIDGET_JS, media_type="application/javascript",
                    headers={"Cache-Control": "max-age=300", "Access-Control-Allow-Origin": "*"})


async def widget_page(request: Request) -> HTMLResponse:
    # framed by any portal: the page holds no session of its own, only the key it was given
    return HTMLResponse(WIDGET_HTML, headers={"Content-Security-Policy": "default-src 'self'; "
                                              "script-src 'unsafe-inline'; style-src 'unsafe-inline'"})


ROUTES = [Route("/widget.js", widget_js), Route("/widget", widget_page)]
