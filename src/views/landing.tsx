/** @jsxImportSource @kitajs/html */
import type { RoomActivity } from "../rooms/news.ts";
import { BackupCard } from "./backup.tsx";
import { Layout, type InstanceInfo } from "./layout.tsx";
import { roomPath } from "./links.ts";
import { RoomList } from "./rooms.tsx";

export interface LandingProps {
  instance: InstanceInfo;
  /** The owner (this machine) sees its rooms and may create and join; a guest only enters the room it brings. */
  owner: boolean;
  rooms: RoomActivity[];
  /** Rooms the owner left, their history kept here. */
  left: string[];
  /** Prefilled room, e.g. when a guest opens an invite link without a name yet, or a typed name made valid. */
  room?: string;
  /** The name this browser entered a room under before, as a guest. */
  guestName?: string;
  /** An invite link as it was pasted, kept in its form when it was refused. */
  invite?: string;
  /** The create form's "open room" box, as it was ticked. */
  open?: boolean;
  /** The owner's link to a room left here (its history kept): said so, with the way back, and a send's text if one was refused. */
  leftRoom?: { name: string; draft?: string };
  /**
   * The owner's link to a room not here: asked before anything is made. `roomKey`: the link carries a private room's key;
   * `wasPrivate`: a private room of the name was here and deleted, so it is never offered as an open room; `why`: the
   * address was opened by a page of another site, or by a program (no browser's navigation), not by the owner.
   */
  noRoom?: { name: string; roomKey?: string; wasPrivate: boolean; why?: "elsewhere" | "program"; draft?: string };
  /** Something changed in what was typed, said before anything is done (a room name made valid). */
  notice?: string;
  error?: string;
}

function ErrorLine({ error }: { error?: string }) {
  return error ? (
    <p class="error" role="alert" safe>
      {error}
    </p>
  ) : (
    ""
  );
}

function NameField({ value }: { value: string }) {
  return (
    <label>
      {/* The box stops at the limit; the label says where it is, so nothing is cut off unannounced. */}
      Your name (up to 64 characters)
      <input name="peer_id" required maxlength="64" value={value} autocomplete="nickname" />
    </label>
  );
}

/**
 * A room name field: anything may be typed; the page's script shows the name it becomes as it is typed
 * (`data-room-name`), and the server shows it too before acting on it.
 */
function RoomField({ name, value, placeholder }: { name: string; value: string; placeholder?: string }) {
  return (
    <>
      <label>
        Room
        <input name={name} required maxlength="200" value={value} placeholder={placeholder} autocomplete="off" data-room-name="" aria-describedby={`${name}-becomes`} />
      </label>
      <p id={`${name}-becomes`} class="hint becomes" aria-live="polite"></p>
    </>
  );
}

/** A guest's way in: the room it was invited to (its key, if any, is already kept by the browser), or an open room by name. */
function GuestEntry({ instance, room, guestName, error }: LandingProps) {
  return (
    <section class="card">
      <h1>{room ? "Join the room" : "Enter a room"}</h1>
      <ErrorLine error={error} />
      <form method="get" action="/" class="join">
        <RoomField name="room" value={room ?? ""} />
        <NameField value={guestName ?? ""} />
        <button type="submit">Enter</button>
      </form>
      <p class="hint" safe>
        {`You are a guest of ${instance.name}. Private rooms open with their invite link.`}
      </p>
    </section>
  );
}

function CreateRoom({ instance, room, open, notice }: LandingProps) {
  return (
    <section class="card">
      <h1>Create a room</h1>
      {notice ? (
        <p class="notice" role="status" safe>
          {`${notice} Press Create to make it.`}
        </p>
      ) : (
        ""
      )}
      <form method="post" action="/create" class="join">
        <RoomField name="name" value={room ?? ""} placeholder="e.g. family" />
        <NameField value={instance.name} />
        <label class="check">
          <input type="checkbox" name="open" value="1" checked={open === true} /> Open room: anyone who knows its name may join
        </label>
        <button type="submit">Create</button>
      </form>
      <p class="hint">A room is private unless you make it open: only those with its invite link get in.</p>
    </section>
  );
}

function JoinByInvite({ instance, invite }: { instance: InstanceInfo; invite?: string }) {
  return (
    <section class="card">
      <h2>Join by invite link</h2>
      <form method="post" action="/invite" class="join">
        <label>
          Invite link
          <input name="invite" required type="url" value={invite ?? ""} placeholder="http://…/?room=…&amp;key=…&amp;node=…" autocomplete="off" />
        </label>
        <NameField value={instance.name} />
        <button type="submit">Join</button>
      </form>
      <p class="hint">A link from another instance: its room is joined here and kept in step with that instance.</p>
    </section>
  );
}

/** A message that could not be sent, shown so that nothing typed is lost. */
function Unsent({ draft }: { draft?: string }) {
  if (!draft) return "";
  return (
    <label class="unsent">
      Your message was not sent; here it is to copy:
      <textarea readonly rows="3" safe>
        {draft}
      </textarea>
    </label>
  );
}

/** The owner's old link (or Back) to a room left here with its history: said so, and the way back in. */
function LeftRoom({ name, draft }: NonNullable<LandingProps["leftRoom"]>) {
  return (
    <section class="card">
      <h1 class="asked" safe>{`You left #${name}`}</h1>
      <p>Its history is kept on this instance. Join it again to see it and to write there; nothing comes from it until then.</p>
      <Unsent draft={draft} />
      <form method="post" action="/join" class="join">
        <input type="hidden" name="room" value={name} />
        <button type="submit" safe>
          {`Join #${name} again`}
        </button>
      </form>
    </section>
  );
}

/** A room not here, reached by a link or a typed address: nothing is made until the owner chooses what. */
function NoRoom({ name, roomKey, wasPrivate, why, draft }: NonNullable<LandingProps["noRoom"]>) {
  const cause = why === "elsewhere" ? "A link from another site led here. " : why === "program" ? "This address was opened by a program, not in a browser. " : "";
  return (
    <section class="card">
      <h1 class="asked" safe>{`There is no room #${name} here`}</h1>
      {cause ? <p safe>{`${cause}Nothing was joined or created.`}</p> : ""}
      <Unsent draft={draft} />
      {roomKey ? (
        <>
          <p>This link carries the key of a private room of this name: join that room here, and its members' messages come back.</p>
          <form method="post" action="/join" class="join">
            <input type="hidden" name="room" value={name} />
            <input type="hidden" name="key" value={roomKey} />
            <button type="submit" safe>
              {`Join the private room #${name}`}
            </button>
          </form>
        </>
      ) : wasPrivate ? (
        <>
          <p>
            A private room of this name was here, and its history was deleted. To get back into it, ask one of its members for a new
            invite link. Or start a new private room of the same name (a different room: its old members are not in it).
          </p>
          <form method="post" action="/create" class="join">
            <input type="hidden" name="name" value={name} />
            <button type="submit" name="open" value="0">
              Create a private room
            </button>
          </form>
        </>
      ) : (
        <>
          <p>Create it? A private room lets in only those with its invite link; an open one, anyone who knows its name.</p>
          <form method="post" action="/create" class="join choices">
            <input type="hidden" name="name" value={name} />
            <button type="submit" name="open" value="0">
              Create a private room
            </button>
            <button type="submit" name="open" value="1">
              Create an open room
            </button>
          </form>
        </>
      )}
      <a class="back" href="/">
        Back to your rooms
      </a>
    </section>
  );
}

function Rooms({ rooms }: LandingProps) {
  return (
    <section id="rooms-card" class="card">
      <h2>Your rooms</h2>
      {rooms.length === 0 ? <p class="empty">No rooms yet.</p> : <RoomList rooms={rooms} writeAs="" />}
    </section>
  );
}

/** Rooms left here with their history kept: joined again, or their history deleted. */
function LeftRooms({ left }: LandingProps) {
  if (left.length === 0) return "";
  return (
    <section class="card">
      <h2>Rooms you left</h2>
      <p class="hint">Their history is kept on this instance. Join one again to catch up, or delete its history.</p>
      <ul class="left-rooms">
        {left.map((name) => (
          <li>
            <span class="room-title" title={name} safe>
              {name}
            </span>
            <form method="post" action="/join" class="inline">
              <input type="hidden" name="room" value={name} />
              <button type="submit" class="quiet">
                Join again
              </button>
            </form>
            <form method="post" action={roomPath(name, "leave")} class="inline">
              <input type="hidden" name="delete" value="1" />
              <button type="submit" class="quiet danger" aria-label={`Delete history of ${name}`}>
                Delete history
              </button>
            </form>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Landing(props: LandingProps) {
  if (!props.owner) {
    return (
      <Layout title="E-Goat" instance={props.instance}>
        <main class="landing">
          <GuestEntry {...props} />
        </main>
      </Layout>
    );
  }
  // A room asked for (left, or not here) is the page's one question: the forms to create and join wait below it.
  const asking = props.leftRoom ? <LeftRoom {...props.leftRoom} /> : props.noRoom ? <NoRoom {...props.noRoom} /> : "";
  return (
    <Layout title={asking ? `#${props.leftRoom?.name ?? props.noRoom?.name} · E-Goat` : "E-Goat"} instance={props.instance}>
      <main class="landing">
        {asking}
        <ErrorLine error={props.error} />
        {asking ? "" : <CreateRoom {...props} />}
        {asking ? "" : <JoinByInvite instance={props.instance} invite={props.invite} />}
        <Rooms {...props} />
        <LeftRooms {...props} />
        {asking ? "" : <BackupCard />}
      </main>
    </Layout>
  );
}
