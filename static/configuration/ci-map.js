/*
 * CMDB service map: draws the JSON from the container's data-url with Cytoscape.js.
 *
 * - a service's map is laid out top-down (breadthfirst, from its users to what it runs on); any
 *   other CI's map is force-directed (cose), as its neighbourhood is usually a mesh;
 * - nodes take the shape and colour the server chose for their class (the legend uses the same);
 *   services are larger, the CI the map is about has a thick outline, retired CIs are faded;
 * - pan (drag the background), zoom (wheel, or the zoom buttons), "Fit" shows everything;
 * - tapping a node (click or touch) opens its CI page;
 * - the Cytoscape instance is window.itsmMap, for tests and for the curious.
 * The same nodes and edges are listed in tables under the map, for keyboard and screen readers.
 */
(function () {
  "use strict";

  var container = document.getElementById("ci-map");
  var statusLine = document.getElementById("ci-map-status");
  if (!container || typeof window.cytoscape !== "function") {
    return;
  }

  function say(text) {
    if (statusLine) {
      statusLine.textContent = text;
      statusLine.hidden = !text;
    }
  }

  function elements(graph) {
    var list = [];
    graph.nodes.forEach(function (node) {
      list.push({
        group: "nodes",
        data: {
          id: String(node.id),
          label: node.name,
          number: node.number,
          className: node.class,
          url: node.url,
          shape: node.shape,
          colour: node.colour,
          status: node.status,
          service: node.is_service ? "yes" : "no",
          centre: node.centre ? "yes" : "no",
          depth: node.depth,
        },
      });
    });
    graph.edges.forEach(function (edge) {
      list.push({
        group: "edges",
        data: { id: "r" + edge.id, source: String(edge.source), target: String(edge.target), label: edge.label },
      });
    });
    return list;
  }

  var style = [
    {
      selector: "node",
      style: {
        shape: "data(shape)",
        "background-color": "data(colour)",
        label: "data(label)",
        "font-size": 11,
        color: "#212529",
        "text-valign": "bottom",
        "text-halign": "center",
        "text-margin-y": 4,
        "text-wrap": "ellipsis",
        "text-max-width": 140,
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.85,
        "text-background-padding": 2,
        width: 30,
        height: 30,
        "border-width": 1,
        "border-color": "#495057",
      },
    },
    { selector: 'node[service = "yes"]', style: { width: 46, height: 34, "font-weight": "bold" } },
    { selector: 'node[centre = "yes"]', style: { "border-width": 5, "border-color": "#212529" } },
    { selector: 'node[status = "retired"]', style: { opacity: 0.45 } },
    { selector: 'node[status = "maintenance"]', style: { "border-style": "dashed", "border-width": 3 } },
    {
      selector: "edge",
      style: {
        width: 1.5,
        "line-color": "#adb5bd",
        "target-arrow-color": "#adb5bd",
        "target-arrow-shape": "triangle",
        "curve-style": "bezier",
        label: "data(label)",
        "font-size": 9,
        "min-zoomed-font-size": 8, // edge labels appear once zoomed in enough to read them
        color: "#6c757d",
        "text-rotation": "autorotate",
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.9,
        "text-background-padding": 1,
      },
    },
    {
      selector: "edge.same-row",
      style: {
        "curve-style": "unbundled-bezier",
        "control-point-distances": "data(arc)",
        "control-point-weights": 0.5,
      },
    },
    { selector: "node:active, node:selected", style: { "overlay-opacity": 0.15 } },
  ];

  function draw(graph) {
    var cy = window.cytoscape({
      container: container,
      elements: elements(graph),
      style: style,
      minZoom: 0.2,
      maxZoom: 3,
      boxSelectionEnabled: false,
    });
    var centre = cy.nodes('[centre = "yes"]');
    if (centre.data("service") === "yes") {
      // A service: top-down, from what uses it to what it runs on (arrows point downwards).
      var roots = cy.nodes().roots();
      cy.layout({
        name: "breadthfirst",
        directed: true,
        roots: roots.length ? roots : centre,
        spacingFactor: 1.15,
        padding: 24,
        avoidOverlap: true,
      }).run();
    } else {
      // Any other CI sits in a mesh (hosts, switches, sites): a force-directed layout untangles it.
      cy.layout({
        name: "cose",
        animate: false,
        randomize: false,
        nodeRepulsion: function () { return 400000; },
        idealEdgeLength: function () { return 100; },
        nodeOverlap: 20,
        edgeElasticity: function () { return 100; },
        gravity: 80,
        numIter: 1000,
        padding: 24,
      }).run();
    }
    // Edges between CIs on the same row would run behind the CIs between them: arc them.
    cy.edges().forEach(function (edge) {
      var from = edge.source().position();
      var to = edge.target().position();
      if (Math.abs(from.y - to.y) < 2 && Math.abs(from.x - to.x) > 1) {
        edge.addClass("same-row");
        edge.data("arc", -Math.min(120, 0.2 * Math.abs(to.x - from.x)) * (to.x > from.x ? 1 : -1));
      }
    });
    // A small neighbourhood would be blown up to fill the box: keep it at a readable size.
    if (cy.zoom() > 1.4) {
      cy.zoom(1.4);
      cy.center();
    }
    cy.on("tap", "node", function (event) {
      var url = event.target.data("url");
      if (url) {
        window.location.assign(url);
      }
    });
    cy.on("mouseover", "node", function () {
      container.style.cursor = "pointer";
    });
    cy.on("mouseout", "node", function () {
      container.style.cursor = "";
    });
    document.querySelectorAll("[data-map-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        var action = button.getAttribute("data-map-action");
        if (action === "fit") {
          cy.fit(undefined, 24);
          return;
        }
        var factor = action === "zoom-in" ? 1.25 : 0.8;
        cy.zoom({
          level: cy.zoom() * factor,
          renderedPosition: { x: container.clientWidth / 2, y: container.clientHeight / 2 },
        });
      });
    });
    window.itsmMap = cy;
    container.setAttribute("data-ready", "true");
    say(graph.nodes.length > 1 ? "" : "Nothing is related to this CI yet.");
  }

  fetch(container.getAttribute("data-url"), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(draw)
    .catch(function (error) {
      say("The map could not be loaded (" + error.message + "). The tables below list the same CIs.");
    });
})();
