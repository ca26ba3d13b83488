// Progressive enhancement for the console; every page works without it. No business rules live here.
(function () {
  'use strict';
  var root = document.documentElement;

  // Inside Shopware the Administration shows the module only after this message (and gives up after 5 s).
  if (root.getAttribute('data-channel') === 'shopware' && window.parent !== window) {
    window.parent.postMessage('sw-app-loaded', '*');
  }
  if (root.getAttribute('data-channel') === 'shopware') {
    root.setAttribute('data-sw-app-loaded', 'posted');
  }

  // Bulk actions act on the ticked rows only: keep them disabled until a row is ticked.
  function refreshSelection(form) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="ids"]'));
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    form.querySelectorAll('[data-needs-selection]').forEach(function (button) { button.disabled = ticked === 0; });
    var all = form.querySelector('[data-select-all]');
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  function init(scope) {
    scope.querySelectorAll('form[data-selection]').forEach(refreshSelection);
  }

  document.addEventListener('change', function (event) {
    var target = event.target;
    var form = target.closest && target.closest('form[data-selection]');
    if (!form) { return; }
    if (target.hasAttribute('data-select-all')) {
      form.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = target.checked; });
    }
    refreshSelection(form);
  });

  // Statement upload: show how much of the file has gone up (htmx sends it with XMLHttpRequest).
  document.addEventListener('htmx:xhr:progress', function (event) {
    var form = event.target.closest && event.target.closest('form[data-upload]');
    if (!form || !event.detail.lengthComputable) { return; }
    var bar = form.querySelector('progress');
    var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
    bar.hidden = false;
    bar.value = percent;
    bar.textContent = percent + ' %';
  });

  document.addEventListener('htmx:load', function (event) { init(event.target); });
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(document); });
  } else {
    init(document);
  }
})();
