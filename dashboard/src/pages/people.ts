// People (admin only): the operator's people with their roles and whether they may sign in (GET /people),
// an invitation (POST /people: Cognito emails a temporary password), roles and a warehouse person's
// locations set as a whole (PUT /people/{username}/roles), disable and enable. Others see why not.
import { get, post, request } from "../api";
import { can, claims, currentCredential, needs, roles } from "../auth";
import { field, h, select, showError, showNotice, table } from "../ui";

interface Person { username: string; email: string | null; roles: string[]; locations: string[]; enabled: boolean; status: string }
interface PersonWritten { person: Person; updated_by: string }

// The pool's role groups (shared/domain/principal.py Role): the API refuses any other name (422).
const ROLES = ["admin", "customer_service", "warehouse", "finance", "viewer"];

/** A checkbox per role, in a fieldset (its legend names the group for a screen reader). */
function roleBoxes(legend: string, name: string): { el: HTMLElement; set: (on: string[]) => void; value: () => string[] } {
  const boxes = ROLES.map((r) => h("input", { type: "checkbox", name, value: r }));
  const el = h("fieldset", { class: "roles" }, h("legend", {}, legend),
    ...boxes.map((b) => h("label", {}, b, ` ${b.value}`)));
  return { el, set: (on) => boxes.forEach((b) => { b.checked = on.includes(b.value); }),
    value: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

const locationsOf = (text: string): string[] => text.split(",").map((s) => s.trim()).filter(Boolean);

export function peoplePage(main: HTMLElement): () => void {
  main.replaceChildren(h("h1", {}, "People"));
  if (!can("people.manage")) {
    main.append(h("p", { class: "needs" }, `People need the role ${needs("people.manage")}; you are ${roles().join(", ") || "no role"}.`));
    return () => {};
  }
  const list = h("div", { id: "people-list" });
  let people: Person[] = [];
  const done = async (written: PersonWritten, what: string) => {
    showNotice(`${written.person.username}: ${what} by ${written.updated_by}`);
    await load();
  };
  const act = (path: string, what: string) => async () => {
    try {
      await done(await post<PersonWritten>(path), what);
    } catch (err) {
      showError(err);
    }
  };

  const who = select("person", []);
  const wanted = roleBoxes("Roles", "role");
  const wantedLocations = h("input", { type: "text", name: "locations", placeholder: "WH-DE-BER, WH-ES-MAD" });
  const pick = () => {
    const p = people.find((x) => x.username === who.value);
    wanted.set(p?.roles ?? []);
    wantedLocations.value = (p?.locations ?? []).join(", ");
  };
  who.addEventListener("change", pick);

  // The signed-in person's own row offers no Disable: the API refuses it (409), so the page does not ask.
  const credential = currentCredential();
  const me = credential?.kind === "bearer" ? String(claims(credential.value)["cognito:username"] ?? claims(credential.value)["username"] ?? "") : "";
  const load = async () => {
    people = (await get<{ people: Person[] }>("/people")).people;
    const chosen = who.value;
    who.replaceChildren(...people.map((p) => h("option", { value: p.username, selected: p.username === chosen }, p.username)));
    pick();
    list.replaceChildren(table(`People (${people.length})`, ["Username", "Email", "Roles", "Locations", "Account", "Sign-in", ""],
      people.map((p) => [p.username, p.email ?? "", p.roles.join(", "), p.locations.join(", "), p.status.replace(/_/g, " "),
        p.enabled ? "enabled" : "disabled",
        p.username === me
          ? h("span", { class: "needs" }, "you (an admin cannot disable themselves)")
          : p.enabled
          ? h("button", { type: "button", "aria-label": `Disable ${p.username}`, onclick: act(`/people/${encodeURIComponent(p.username)}/disable`, "disabled") }, "Disable")
          : h("button", { type: "button", "aria-label": `Enable ${p.username}`, onclick: act(`/people/${encodeURIComponent(p.username)}/enable`, "enabled") }, "Enable")]),
      "nobody yet"));
  };

  const username = h("input", { type: "text", name: "username", required: true, pattern: "[a-z0-9][a-z0-9._\\-]{1,62}", autocomplete: "off" });
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
  const invitedRoles = roleBoxes("Roles", "invite-role");
  const invitedLocations = h("input", { type: "text", name: "invite-locations", placeholder: "for warehouse: WH-DE-BER" });
  const invite = h("form", { class: "panel", "aria-labelledby": "invite-title", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      await done(await request<PersonWritten>("POST", "/people", { username: username.value.trim(), email: email.value.trim(),
        roles: invitedRoles.value(), locations: locationsOf(invitedLocations.value) }), "invited");
      invite.reset();
    } catch (err) {
      showError(err);
    }
  } }, h("h2", { id: "invite-title" }, "Invite a person"),
    h("p", { class: "muted" }, "They get an email with a temporary password, to be changed at their first sign-in."),
    field("Username", username, "lower case letters, digits, . _ -"), field("Email", email), invitedRoles.el,
    field("Locations (warehouse)", invitedLocations), h("button", { type: "submit" }, "Invite"));

  const change = h("form", { class: "panel", "aria-labelledby": "roles-title", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      await done(await request<PersonWritten>("PUT", `/people/${encodeURIComponent(who.value)}/roles`,
        { roles: wanted.value(), locations: locationsOf(wantedLocations.value) }), "roles changed");
    } catch (err) {
      showError(err);
    }
  } }, h("h2", { id: "roles-title" }, "Change roles"),
    h("p", { class: "muted" }, "The roles and locations ticked here replace the person's; they apply from their next sign-in, or within the hour as their console renews it."),
    field("Person", who), wanted.el, field("Locations (warehouse)", wantedLocations), h("button", { type: "submit" }, "Save roles"));

  main.append(list, h("div", { class: "two" }, invite, change));
  void load().catch(showError);
  return () => {};
}
