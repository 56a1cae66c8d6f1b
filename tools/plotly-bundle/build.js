// Builds ../../perfeval/ui/assets/plotly-perfeval.min.js from entry.js, with
// plotly.js's own esbuild settings (its esbuild-config.js) minus the WebGL and
// map plugins, which these traces do not use.
const path = require('path');
const esbuild = require('esbuild');
const { version } = require('plotly.js/package.json');

esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'entry.js')],
    outfile: path.join(__dirname, '..', '..', 'perfeval', 'ui', 'assets', 'plotly-perfeval.min.js'),
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    target: 'es2016',
    define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
    // The registry requires maplibre's stylesheet for map traces, never registered here.
    loader: { '.css': 'empty' },
    banner: { js: `/*! plotly.js (perfeval: bar, heatmap, scatter; zh-CN) v${version} | MIT, Plotly, Inc. */` },
    legalComments: 'eof',
    logLevel: 'info',
});
