/*
 * ITSM: small additions on top of Bootstrap and htmx.
 *
 * - every htmx request carries the CSRF token from <meta name="csrf-token">
 *   in the X-CSRFToken header;
 * - a failed htmx request (status >= 400, network error, timeout) shows a
 *   toast with the server's {"detail": ...} message or the response text;
 * - the server can show a toast itself with the response header
 *   `HX-Trigger: {"itsm:toast": {"message": "Saved", "level": "success"}}`;
 * - window.itsm.toast(message, level) does the same from other scripts;
 * - "/" focuses the global search box.
 *
 * Loaded after htmx.min.js and bootstrap.bundle.min.js, before
 * DOMContentLoaded, so the htmx settings below apply before htmx starts.
 */
(function () {
  "use strict";

  var TOAST_CONTAINER_ID = "toast-container";
  var MAX_MESSAGE_LENGTH = 400;
  var LEVELS = {
    success: { css: "text-bg-success", icon: "check-circle", title: "Done" },
    info: { css: "text-bg-primary", icon: "info-circle", title: "Note" },
    warning: { css: "text-bg-warning", icon: "exclamation-triangle", title: "Warning" },
    danger: { css: "text-bg-danger", icon: "x-octagon", title: "Error" },
  };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function truncate(text) {
    text = String(text).replace(/\s+/g, " ").trim();
    return text.length > MAX_MESSAGE_LENGTH ? text.slice(0, MAX_MESSAGE_LENGTH - 1) + "\u2026" : text;
  }

  /* Show a Bootstrap toast. The message is set as text, never as HTML. */
  function toast(message, level) {
    var spec = LEVELS[level] || LEVELS.info;
    var container = document.getElementById(TOAST_CONTAINER_ID);
    if (!container) {
      container = document.createElement("div");
      container.id = TOAST_CONTAINER_ID;
      container.className = "toast-container position-fixed bottom-0 end-0 p-3";
      document.body.appendChild(container);
    }
    var el = document.createElement("div");
    el.className = "toast align-items-center border-0 " + spec.css;
    var urgent = level === "danger" || level === "warning";
    el.setAttribute("role", urgent ? "alert" : "status");
    el.setAttribute("aria-live", urgent ? "assertive" : "polite");
    el.setAttribute("aria-atomic", "true");

    var row = document.createElement("div");
    row.className = "d-flex";
    var body = document.createElement("div");
    body.className = "toast-body";
    var icon = document.createElement("i");
    icon.className = "bi bi-" + spec.icon + " me-2";
    icon.setAttribute("aria-hidden", "true");
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = spec.title + ": ";
    var text = document.createElement("span");
    text.textContent = truncate(message);
    body.append(icon, label, text);

    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close me-2 m-auto" + (level === "warning" ? "" : " btn-close-white");
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", "Close");
    row.append(body, close);
    el.appendChild(row);
    container.appendChild(el);

    el.addEventListener("hidden.bs.toast", function () {
      el.remove();
    });
    if (window.bootstrap && window.bootstrap.Toast) {
      // Errors stay until dismissed: they may need to be read in full.
      window.bootstrap.Toast.getOrCreateInstance(el, { autohide: !urgent, delay: 6000 }).show();
    } else {
      el.classList.add("show");
    }
    return el;
  }

  /* Turn a DRF-style error body into one line: {"detail": "..."} or {"field": ["msg"]}. */
  function messageFromJson(data) {
    if (data == null) return "";
    if (typeof data === "string") return data;
    if (Array.isArray(data)) return data.map(messageFromJson).join(" ");
    if (typeof data === "object") {
      if ("detail" in data) return messageFromJson(data.detail);
      return Object.keys(data)
        .map(function (key) {
          var value = messageFromJson(data[key]);
          return key === "non_field_errors" ? value : key + ": " + value;
        })
        .join(" ");
    }
    return String(data);
  }

  function messageFromResponse(xhr) {
    var fallback = "The request failed (" + xhr.status + (xhr.statusText ? " " + xhr.statusText : "") + ").";
    var body = xhr.responseText || "";
    if (!body.trim()) return fallback;
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    if (type.indexOf("json") !== -1) {
      try {
        return messageFromJson(JSON.parse(body)) || fallback;
      } catch (e) {
        return fallback;
      }
    }
    if (type.indexOf("html") !== -1) {
      // Parsed inertly (DOMParser runs no scripts); only text is kept.
      var doc = new DOMParser().parseFromString(body, "text/html");
      var title = doc.title && doc.title.trim();
      var text = title || (doc.body ? doc.body.textContent : "");
      return text.trim() ? text : fallback;
    }
    return body;
  }

  window.itsm = window.itsm || {};
  window.itsm.toast = toast;

  if (window.htmx) {
    // Back/forward reloads the page from the server instead of restoring a
    // snapshot kept in the browser: pages hold tickets the user may lose
    // access to, and the server re-checks permissions on every load.
    htmx.config.historyCacheSize = 0;
    htmx.config.refreshOnHistoryMiss = true;
    // The indicator rules live in app.css, so htmx injects no inline <style>
    // (keeps a strict Content-Security-Policy possible).
    htmx.config.includeIndicatorStyles = false;

    document.addEventListener("htmx:configRequest", function (event) {
      var token = csrfToken();
      if (token) event.detail.headers["X-CSRFToken"] = token;
    });

    document.addEventListener("htmx:responseError", function (event) {
      toast(messageFromResponse(event.detail.xhr), "danger");
    });
    document.addEventListener("htmx:sendError", function () {
      toast("Could not reach the server. Check your connection and try again.", "danger");
    });
    document.addEventListener("htmx:timeout", function () {
      toast("The server took too long to answer. Try again.", "danger");
    });
  }

  document.addEventListener("itsm:toast", function (event) {
    var detail = event.detail || {};
    // HX-Trigger with a plain string value arrives as {value: "..."}.
    toast(detail.message || detail.value || "", detail.level || "info");
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
    var search = document.getElementById("global-search");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });
})();
