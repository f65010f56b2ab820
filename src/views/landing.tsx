/** @jsxImportSource @kitajs/html */
import type { RoomActivity } from "../node.ts";
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
  /** A room the owner reached by a link from elsewhere: asked before it is joined. */
  confirmJoin?: string;
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

function ConfirmJoin({ instance, confirmJoin }: { instance: InstanceInfo; confirmJoin: string }) {
  return (
    <section class="card">
      <h1 class="truncate" title={confirmJoin} safe>{`Join #${confirmJoin}?`}</h1>
      <p>A link from another site leads to this room. It is not joined yet.</p>
      <form method="post" action="/join" class="join">
        <input type="hidden" name="room" value={confirmJoin} />
        <NameField value={instance.name} />
        <button type="submit">Join</button>
      </form>
    </section>
  );
}

function Rooms({ instance, rooms }: LandingProps) {
  return (
    <section id="rooms-card" class="card">
      <h2>Your rooms</h2>
      {rooms.length === 0 ? <p class="empty">No rooms yet.</p> : <RoomList rooms={rooms} peerId={instance.name} />}
    </section>
  );
}

/** Rooms left here with their history kept: joined again, or their history deleted. */
function LeftRooms({ instance, left }: LandingProps) {
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
              <input type="hidden" name="peer_id" value={instance.name} />
              <button type="submit" class="quiet">
                Join again
              </button>
            </form>
            <form method="post" action={roomPath(name, "leave")} class="inline">
              <input type="hidden" name="delete" value="1" />
              <button type="submit" class="quiet danger" aria-label={`Delete the history of ${name}`}>
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
  return (
    <Layout title="E-Goat" instance={props.instance}>
      <main class="landing">
        {props.confirmJoin ? <ConfirmJoin instance={props.instance} confirmJoin={props.confirmJoin} /> : ""}
        <ErrorLine error={props.confirmJoin ? undefined : props.error} />
        <CreateRoom {...props} />
        <JoinByInvite instance={props.instance} invite={props.invite} />
        <Rooms {...props} />
        <LeftRooms {...props} />
      </main>
    </Layout>
  );
}
