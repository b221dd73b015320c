// The API documentation page: Swagger UI over /openapi.json, from chatrec's own files.
"use strict";
(() => {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapi,
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // The public validator would be a request to another site, and says nothing new.
    validatorUrl: null,
  });
})();
