/** @jsxImportSource @kitajs/html */
import { Layout, type InstanceInfo } from "./layout.tsx";
import { roomHref } from "./links.ts";

export interface LandingProps {
  instance: InstanceInfo;
  rooms: string[];
  /** Prefilled room, e.g. when a guest opens an invite link without a name yet. */
  room?: string;
  error?: string;
}

export function Landing({ instance, rooms, room, error }: LandingProps) {
  return (
    <Layout title="E-Goat" instance={instance}>
      <main class="landing">
        <section class="card">
          <h1>{room ? "Join the room" : "Create or join a room"}</h1>
          {error ? (
            <p class="error" role="alert" safe>
              {error}
            </p>
          ) : (
            ""
          )}
          <form method="get" action="/" class="join">
            <label>
              Room
              <input name="room" required maxlength="64" pattern="[A-Za-z0-9_.\-]{1,64}" value={room ?? ""} placeholder="e.g. family" autocomplete="off" />
            </label>
            <label>
              Your name
              <input name="peer_id" required maxlength="64" value={instance.name} autocomplete="nickname" />
            </label>
            <button type="submit">Enter</button>
          </form>
          <p class="hint">Room names use letters, digits, '-', '_' and '.'. A new name creates the room.</p>
        </section>
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
      </main>
    </Layout>
  );
}
