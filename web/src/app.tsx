// The console's frame: the header with its navigation, and which page answers which /console path.
import { useEffect, useRef } from "preact/hooks";
import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from "preact-iso";
import { may, useGrants } from "./grants.js";
import { forgetApiKey, navigate, signInUrl, storedApiKey } from "./session.js";
import { CallPage } from "./pages/call.js";
import { CallsPage } from "./pages/calls.js";
import { DestinationsPage } from "./pages/destinations.js";
import { PlaygroundPage } from "./pages/playground.js";
import { ReviewPage } from "./pages/review.js";
import { ProfilePage } from "./pages/profile.js";
import { ProfilesPage } from "./pages/profiles.js";
import { SignInPage } from "./pages/sign-in.js";

/** The one page with charts: it and its chart library (uPlot) load when it is first visited, not with the console. */
const InsightsPage = lazy(() => import("./pages/insights.js").then((page) => page.InsightsPage));

/** Each page, with the scope a key needs for it to be offered. */
const NAV = [
  { href: "/console/", label: "Calls", scope: "calls:read", current: (path: string) => path === "/console" || path.startsWith("/console/calls") },
  { href: "/console/review", label: "Review", scope: "calls:review", current: (path: string) => path.startsWith("/console/review") },
  { href: "/console/insights", label: "Insights", scope: "calls:read", current: (path: string) => path.startsWith("/console/insights") },
  { href: "/console/profiles", label: "Profiles", scope: "calls:read", current: (path: string) => path.startsWith("/console/profiles") },
  { href: "/console/destinations", label: "Destinations", scope: "destinations", current: (path: string) => path.startsWith("/console/destinations") },
  { href: "/console/playground", label: "Playground", scope: "extract", current: (path: string) => path.startsWith("/console/playground") },
];

function Header() {
  const { path } = useLocation();
  const signedIn = storedApiKey() !== undefined;
  const grants = useGrants();
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <a class="brand" href="/console/">
        Debrief
      </a>
      <nav aria-label="Console">
        <ul>
          {/* Signed out, every page is named (each asks for a key); signed in, only those the key may use. */}
          {NAV.filter((item) => !signedIn || may(grants, item.scope)).map((item) => (
            <li key={item.href}>
              <a href={item.href} aria-current={item.current(path) ? "page" : undefined}>
                {item.label}
              </a>
            </li>
          ))}
          <li>
            {/* Not a console page: a full page load, outside the router. */}
            <a href="/docs/">
              API reference
            </a>
          </li>
        </ul>
      </nav>
      {signedIn ? (
        <button
          type="button"
          class="secondary sign-out"
          onClick={() => {
            forgetApiKey();
            navigate(signInUrl("/console/"));
          }}
        >
          Sign out
        </button>
      ) : null}
    </header>
  );
}

/** After moving to another page, focus goes to its content, so a screen reader starts there rather than in the header. */
function FocusOnNavigation() {
  const { path } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else document.getElementById("main")?.focus();
  }, [path]);
  return null;
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no console page here. <a href="/console/">See every call</a>.
      </p>
    </section>
  );
}

export function App() {
  return (
    <LocationProvider scope="/console">
      <Header />
      <FocusOnNavigation />
      <main id="main" tabIndex={-1}>
        <ErrorBoundary>
          <Router>
            <Route path="/console" component={CallsPage} />
            {/* The calls list under its own name too: Insights links to /console/calls?where=… */}
            <Route path="/console/calls" component={CallsPage} />
            <Route path="/console/calls/:id" component={CallPage} />
            <Route path="/console/insights" component={InsightsPage} />
            <Route path="/console/review" component={ReviewPage} />
            <Route path="/console/destinations" component={DestinationsPage} />
            <Route path="/console/profiles" component={ProfilesPage} />
            <Route path="/console/profiles/:name" component={ProfilePage} />
            <Route path="/console/playground" component={PlaygroundPage} />
            <Route path="/console/sign-in" component={SignInPage} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
    </LocationProvider>
  );
}
