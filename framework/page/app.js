/* app.js: the status page (placeholder until the page lands). */
