'use strict';
// The trace types perfeval draws (perfeval/ui/plot.py's BUNDLED_TRACES names
// the same; a test compares them) and the dashboard's locale. The core brings
// scatter.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/locales/zh-cn'),
]);

module.exports = Plotly;
