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

  // Inside Shopware, ask the Administration who is signed in (Admin Extension SDK, needs the app's "read user"
  // permission) and have the server name the session after them; then reload with the renewed session.
  var nameUrl = root.getAttribute('data-name-user');
  if (nameUrl && window.sw && window.sw.context && window.parent !== window) {
    window.sw.context.getUserInformation().then(function (user) {
      var here = new URL(window.location.href);
      return fetch(nameUrl, {
        method: 'POST',
        headers: {'Content-Type': 'application/json', 'X-ClaimBridge-Session': here.searchParams.get('session_token')},
        body: JSON.stringify({id: user.id, firstName: user.firstName, lastName: user.lastName, username: user.username})
      }).then(function (response) { return response.ok ? response.json() : null; }).then(function (answer) {
        if (!answer) { return; }
        here.searchParams.set('session_token', answer.session_token);
        window.location.replace(here.toString());
      });
    }).catch(function () { root.setAttribute('data-user-unnamed', 'refused'); });
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

  // Settings: each change is checked by the server as saving would; show its problems beside the fields without
  // replacing what the merchant is typing (the form is not swapped, only its messages and marks are).
  document.addEventListener('htmx:afterRequest', function (event) {
    var form = event.target.closest && event.target.closest('form[data-check]');
    if (!form || !event.detail.successful) { return; }
    var fresh = new DOMParser().parseFromString(event.detail.xhr.responseText, 'text/html').getElementById(form.id);
    if (!fresh) { return; }
    form.querySelectorAll('.field-error').forEach(function (error) { error.remove(); });
    fresh.querySelectorAll('[name]').forEach(function (input) {
      var mine = form.querySelector('[name="' + CSS.escape(input.getAttribute('name')) + '"]');
      if (!mine) { return; }
      if (input.getAttribute('aria-invalid') === 'true') { mine.setAttribute('aria-invalid', 'true'); }
      else { mine.removeAttribute('aria-invalid'); }
      if (input.hasAttribute('aria-describedby')) {
        mine.setAttribute('aria-describedby', input.getAttribute('aria-describedby'));
      }
    });
    fresh.querySelectorAll('.field-error').forEach(function (error) {
      var field = document.getElementById(error.id.replace(/-error$/, ''));
      var place = field && form.contains(field) ? field.closest('.field, td, th') : null;
      (place || form.querySelector('.card-body') || form).appendChild(document.importNode(error, true));
    });
  });

  document.addEventListener('htmx:load', function (event) { init(event.target); });
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(document); });
  } else {
    init(document);
  }
})();
