/** Escapes text for an HTML attribute or text node. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The dashboard page: an empty shell the bundled script fills from the live event stream. Its icon is empty: without
 * one the browser asks the host for `/favicon.ico`, and the host's 404 is an error in the page's console.
 */
export function pageHtml(prefix: string): string {
  const p = escapeHtml(prefix);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EPARA cluster</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${p}/app.css">
<script defer src="${p}/app.js"></script>
</head>
<body data-prefix="${p}">
<header><h1>EPARA <span>cluster</span></h1><div id="status" class="status connecting">connecting…</div></header>
<main>
<section id="nodes-section"><h2>Nodes</h2><div id="nodes" class="nodes"></div></section>
<section id="services-section"><h2>Services and categories <small>requests and stream frames submitted at this node; offered (cluster) from every server's measured arrivals</small></h2><div id="services" class="services"></div></section>
<div class="row">
<section id="flows-section"><h2>Offload flows <small>req/s, last 5 s</small></h2><div id="flows"></div></section>
<section id="placements-section"><h2>Placement changes</h2><ol id="placements" class="placements"></ol></section>
</div>
</main>
</body>
</html>
`;
}

/** What an unauthenticated browser sees: a sign-in form, and nothing about the cluster. */
export function signInHtml(prefix: string): string {
  const p = escapeHtml(prefix);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>EPARA dashboard: sign in</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${p}/app.css"></head>
<body class="sign-in"><form method="get" action="${p}"><h1>EPARA dashboard</h1>
<p>This dashboard needs its access token.</p>
<input type="password" name="token" placeholder="token" autocomplete="current-password" autofocus>
<button type="submit">Open</button></form></body></html>
`;
}
