// Loaded first, before anything else on the page: keeps every Content-Security-Policy
// violation of this page in window.tsunagiCspViolations (and the browser's console), so an
// operator, or the browser tests, can see that nothing was blocked.
(function () {
  'use strict';
  window.tsunagiCspViolations = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    window.tsunagiCspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + (e.lineNumber || 0));
  });
})();
