// Entry of the dashboard bundle (built by src/pages/dashboard-bundle.ts).
import './styles.css';
import { App } from './app.js';

const root = document.getElementById('app');
if (root) void new App(root).start();
