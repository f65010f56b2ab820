/** @jsxImportSource @kitajs/html */
import { Layout, type InstanceInfo } from "./layout.tsx";
import { roomHref } from "./links.ts";

export interface LandingProps {
  instance: InstanceInfo;
  /** The owner (this machine) sees its rooms and may create and join; a guest only enters the room it brings. */
  owner: boolean;
  rooms: string[];
  /** Prefilled room, e.g. when a guest opens an invite link without a name yet. */
  room?: string;
  /** A room the owner reached by a link from elsewhere: asked before it is joined. */
  confirmJoin?: string;
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
      Your name
      <input name="peer_id" required maxlength="64" value={value} autocomplete="nickname" />
    </label>
  );
}

/** A guest's way in: the room it was invited to (its key, if any, is already kept by the browser), or an open room by name. */
function GuestEntry({ instance, room, error }: LandingProps) {
  return (
    <section class="card">
      <h1>{room ? "Join the room" : "Enter a room"}</h1>
      <ErrorLine error={error} />
      <form method="get" action="/" class="join">
        <label>
          Room
          <input name="room" required maxlength="64" pattern="[A-Za-z0-9_.\-]{1,64}" value={room ?? ""} autocomplete="off" />
        </label>
        <NameField value="" />
        <button type="submit">Enter</button>
      </form>
      <p class="hint" safe>
        {`You are a guest of ${instance.name}. Private rooms open with their invite link.`}
      </p>
    </section>
  );
}

function CreateRoom({ instance, room }: LandingProps) {
  return (
    <section class="card">
      <h1>Create a room</h1>
      <form method="post" action="/create" class="join">
        <label>
          Room
          <input name="name" required maxlength="64" pattern="[A-Za-z0-9_.\-]{1,64}" value={room ?? ""} placeholder="e.g. family" autocomplete="off" />
        </label>
        <NameField value={instance.name} />
        <label class="check">
          <input type="checkbox" name="open" value="1" /> Open room: anyone who knows its name may join
        </label>
        <button type="submit">Create</button>
      </form>
      <p class="hint">A room is private unless you make it open: only those with its invite link get in.</p>
    </section>
  );
}

function JoinByInvite({ instance }: { instance: InstanceInfo }) {
  return (
    <section class="card">
      <h2>Join by invite link</h2>
      <form method="post" action="/invite" class="join">
        <label>
          Invite link
          <input name="invite" required type="url" placeholder="http://…/?room=…&amp;key=…&amp;node=…" autocomplete="off" />
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
      <h1 safe>{`Join #${confirmJoin}?`}</h1>
      <p>A link from another site leads to this room. It is not joined yet.</p>
      <form method="post" action="/join" class="join">
        <input type="hidden" name="room" value={confirmJoin} />
        <NameField value={instance.name} />
        <button type="submit">Join</button>
      </form>
    </section>
  );
}

function RoomList({ instance, rooms }: LandingProps) {
  return (
    <section class="card">
      <h2>Your rooms</h2>
      {rooms.length === 0 ? (
        <p class="empty">No rooms yet.</p>
      ) : (
        <ul class="rooms">
          {rooms.map((r) => (
            <li>
              <a href={roomHref(r, instance.name)} safe>
                {r}
              </a>
            </li>
          ))}
        </ul>
      )}
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
        <JoinByInvite instance={props.instance} />
        <RoomList {...props} />
      </main>
    </Layout>
  );
}
