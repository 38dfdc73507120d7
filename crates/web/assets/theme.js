// Applies the colour theme before the first paint (no flash): the reader's choice, remembered
// by the toggle under localStorage "theme-preference" (the seed's key), else dashboard.json's
// theme.defaultMode (data-default-mode: light or dark; without it the page follows the system).
// The toggle lives in app.js.
(function () {
  var root = document.documentElement;
  var t = root.dataset.defaultMode;
  try { t = localStorage.getItem('theme-preference') || t; } catch (e) { /* storage blocked */ }
  if (t === 'dark' || t === 'light') root.dataset.theme = t;
})();
