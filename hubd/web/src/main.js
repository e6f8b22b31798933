// edgeplane dashboard: entry point. See app.js for the logic, view.js for
// rendering, conn.js for the WebSocket link (docs/PROTOCOL.md, "Dashboard link").
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { App } from './app.js';
import { View } from './view.js';
import { installDebugHook } from './debug.js';

const view = new View(document);
const app = new App({ location: window.location, storage: window.sessionStorage, view });
view.bind(app);
installDebugHook(window, app);
app.start();
