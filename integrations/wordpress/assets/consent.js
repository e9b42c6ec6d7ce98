/* The Call Tracking plugin's consent glue: ct.js (loaded with data-consent="required") starts only
 * once the WP Consent API says the visitor allows this script's category (data-category, default
 * "marketing"), now or later in the page. It sends nothing and stores nothing itself. */
(function () {
  var tag = document.currentScript;
  var category = (tag && tag.getAttribute('data-category')) || 'marketing';
  var grant = function () {
    window.ctConsent = true; // ct.js reads it when it starts, or hears it if it is running
  };
  var ask = function () {
    if (typeof window.wp_has_consent === 'function' && window.wp_has_consent(category)) grant();
  };
  ask();
  document.addEventListener('DOMContentLoaded', ask); // the Consent API's own script may come later
  document.addEventListener('wp_listen_for_consent_change', function (event) {
    var changed = (event && event.detail) || {};
    if (changed[category] === 'allow') grant();
  });
})();
