// The book's BokehJS: the BokehJS of the pinned bokeh with only the models in models.txt.
//
// The full bokeh.min.js (1.27 MB) defines every Bokeh model, and every page with a plot
// evaluated all of it (0.22 s on the project's 2-core machine) before its first plot could be
// built. This bundle registers the models the book uses and what they import, from the same
// compiled BokehJS (@bokeh/bokehjs, the version of the Python bokeh), and leaves out WebGL and
// MathJax, which BokehJS itself loads as separate bundles. Its first line names the BokehJS
// version and the models; book/_ext/plot_scripts.py checks the version against the installed
// bokeh and the models against every plot of the book. Run:
// cd tools/bokehjs && npm ci && node build.mjs
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.join(here, "node_modules", "@bokeh", "bokehjs");
const lib = path.join(pkg, "build", "js", "lib");
const version = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8")).version;
const esbuildVersion = esbuild.version;
const out = path.join(here, "bokeh-plots.min.js");

const names = fs.readFileSync(path.join(here, "models.txt"), "utf8").split("\n")
  .map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));

// Where each model class is defined: models/ (not models/dom, whose Span is another model)
// and document/ (DocumentConfig).
function* modules(dir) {
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (full !== path.join(lib, "models", "dom")) yield* modules(full);
    } else if (entry.name.endsWith(".js")) yield full;
  }
}
const home = new Map();
for (const file of [...modules(path.join(lib, "models")), ...modules(path.join(lib, "document"))]) {
  for (const match of fs.readFileSync(file, "utf8").matchAll(/^export class (\w+) extends /gm)) {
    if (!home.has(match[1])) home.set(match[1], []);
    home.get(match[1]).push(file);
  }
}
const problems = names.filter((n) => (home.get(n) ?? []).length !== 1)
  .map((n) => `${n}: ${home.has(n) ? "defined in " + home.get(n).join(", ") : "no such model"}`);
if (problems.length) {
  console.error(`models.txt names models BokehJS ${version} does not define once:\n${problems.join("\n")}`);
  process.exit(1);
}

const rel = (file) => "./" + path.relative(here, file).split(path.sep).join("/");
const entry = [
  `export * from ${JSON.stringify(rel(path.join(lib, "index.js")))};`,
  `import {register_models} from ${JSON.stringify(rel(path.join(lib, "base.js")))};`,
  ...names.map((n) => `import {${n}} from ${JSON.stringify(rel(home.get(n)[0]))};`),
  `register_models([${names.join(", ")}], true);`,  // true: DocumentConfig registers itself too
].join("\n");

// BokehJS imports WebGL glyphs and MathJax with import() from bundles of their own: here such
// an import fails as a missing module, which BokehJS handles (it falls back to the canvas).
const notBundled = {
  name: "not-bundled",
  setup(build) {
    build.onResolve({filter: /.*/}, (args) => (args.kind === "dynamic-import"
      ? {path: args.path, namespace: "not-bundled"} : undefined));
    build.onLoad({filter: /.*/, namespace: "not-bundled"}, (args) => ({
      contents: `const e = new Error(${JSON.stringify(`not in the book's BokehJS: ${args.path}`)});`
        + ` e.code = "MODULE_NOT_FOUND"; throw e;`,
    }));
  },
};

// BokehJS's own build compiles its TypeScript with useDefineForClassFields off: a field declared
// without a value (`metrics_change;`) is no property of its own, so the value a constructor's
// initialize() gave it survives. The compiled lib keeps those declarations; read as TypeScript
// with the same setting, they are dropped again (as JavaScript, each would reset the property).
const bokehAsTypeScript = {
  name: "bokeh-as-typescript",
  setup(build) {
    build.onLoad({filter: /[\\/]@bokeh[\\/]bokehjs[\\/]build[\\/]js[\\/]lib[\\/].*\.js$/}, (args) => ({
      contents: fs.readFileSync(args.path, "utf8"), loader: "ts",
    }));
  },
};

const license = fs.readFileSync(path.join(pkg, "LICENSE"), "utf8").trim();
const banner = `/* bokeh-plots: BokehJS ${version}; models: ${names.join(" ")} */\n`
  + `/* Built by gradwidgets' tools/bokehjs/build.mjs with esbuild ${esbuildVersion} from @bokeh/bokehjs ${version}.\n`
  + license.split("\n").map((l) => ` * ${l}`.trimEnd()).join("\n") + "\n */";
await esbuild.build({
  stdin: {contents: entry, resolveDir: here, sourcefile: "entry.js"},
  bundle: true, minify: true, format: "iife", globalName: "Bokeh", target: "es2020",
  outfile: out, plugins: [notBundled, bokehAsTypeScript], legalComments: "eof", banner: {js: banner},
  tsconfigRaw: {compilerOptions: {useDefineForClassFields: false}},
});
console.log(`${path.relative(process.cwd(), out)}: BokehJS ${version}, ${names.length} models, `
  + `${fs.statSync(out).size} bytes`);
