// The console's entry point: mounts the app on the page the service sends for every /console path.
import { render } from "preact";
import { App } from "./app.js";
import { signInUrl, storedApiKey } from "./session.js";
import "./styles.css";

// The service says whether its API needs a key: without one stored, sign in first rather than be refused.
const authRequired = document.querySelector('meta[name="debrief-auth"]')?.getAttribute("content") === "required";
if (authRequired && storedApiKey() === undefined && !location.pathname.startsWith("/console/sign-in")) {
  history.replaceState(null, "", signInUrl());
}

render(<App />, document.getElementById("app")!);
