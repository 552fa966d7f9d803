// The page's start: the lecture view, and the Run tab when the server was given a run directory.
import { mountPage } from "./lecture.js";

const lectureTab = document.getElementById("tab-lecture");
const runTab = document.getElementById("tab-run");
const lectureView = document.getElementById("view-lecture");
const runView = document.getElementById("view-run");
let runMounted = false;

function select(tab) {
  const run = tab === runTab;
  lectureTab.setAttribute("aria-selected", String(!run));
  runTab.setAttribute("aria-selected", String(run));
  lectureView.hidden = run;
  runView.hidden = !run;
  if (run && !runMounted) {
    runMounted = true;
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = "/static/run.css";
    document.head.append(css);
    import("./run.js").then((m) => m.mountRunView(runView, ""));   // its API lives under /api/run on this origin
  }
}

lectureTab.addEventListener("click", () => select(lectureTab));
runTab.addEventListener("click", () => select(runTab));

mountPage(lectureView);
fetch("/api/info").then((r) => r.json()).then((info) => {
  if (info.run) {
    runTab.hidden = false;
    if (new URLSearchParams(location.search).get("view") === "run") select(runTab);
  }
});
