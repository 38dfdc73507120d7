// Applies the remembered colour theme before the first paint (no flash). The toggle lives in app.js.
try {
  var t = localStorage.getItem('systole-theme');
  if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
} catch (e) { /* storage blocked: follow prefers-color-scheme */ }
