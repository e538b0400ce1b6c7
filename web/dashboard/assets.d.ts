// Stylesheets are bundled by esbuild (main.ts imports one for its side effect).
declare module '*.css';
