// The console's entry point: mounts the app on the page the service sends for every /console path.
import { render } from "preact";
import { App } from "./app.js";
import "./styles.css";

render(<App />, document.getElementById("app")!);
