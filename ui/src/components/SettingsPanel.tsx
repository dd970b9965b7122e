// Settings: what config.toml holds, edited in the window. Saving sends the
// whole form; the app checks every value (refusing with the reason before
// anything is written), keeps the file's comments and layout, and applies
// the change at once. Stack files come from the system's open dialog or a
// typed path; an engine endpoint can be tried before it is saved.
import { memo, useCallback, useEffect, useState, type FormEvent, type ReactNode } from "react";
import { asUiError, type Backend } from "../api";
import type { NotificationsConfig } from "../bindings/NotificationsConfig";
import type { Settings } from "../bindings/Settings";
import type { SettingsView } from "../bindings/SettingsView";
import type { Theme } from "../bindings/Theme";

const NOTIFY_LABEL: Record<keyof NotificationsConfig, string> = {
  incidents: "An incident opens and closes",
  quarantine: "The healer quarantines a service",
  verification: "A verification fails",
  engine: "The container engine is lost and back",
};

const THEMES: { value: Theme; label: string }[] = [
  { value: "system", label: "Follow the desktop" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

/** A labelled checkbox. */
function Check({
  checked,
  onChange,
  testid,
  label,
  children,
}: {
  checked: boolean;
  onChange: (on: boolean) => void;
  testid: string;
  label: string;
  children?: ReactNode;
}) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} data-testid={testid} />{" "}
      {label}
      {children}
    </label>
  );
}

/** The same settings, value by value. */
export function sameSettings(a: Settings, b: Settings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface Props {
  backend: Backend;
  /** Called with the settings in force after a save. */
  onSaved?: (v: SettingsView) => void;
}

export const SettingsPanel = memo(function SettingsPanel({ backend, onSaved }: Props) {
  const [view, setView] = useState<SettingsView | null>(null);
  const [form, setForm] = useState<Settings | null>(null);
  const [typedPath, setTypedPath] = useState("");
  const [saving, setSaving] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [connection, setConnection] = useState<{ ok: boolean; text: string } | null>(null);
  const [testing, setTesting] = useState(false);

  const load = useCallback(
    (v: SettingsView) => {
      setView(v);
      setForm(v.settings);
    },
    [],
  );
  useEffect(() => {
    let cancelled = false;
    backend
      .settingsGet()
      .then((v) => !cancelled && load(v))
      .catch((e) => !cancelled && setError(asUiError(e).message));
    return () => {
      cancelled = true;
    };
  }, [backend, load]);

  if (!form || !view) {
    return error ? (
      <div className="banner warning" role="alert">
        {error}
      </div>
    ) : (
      <p className="muted">Loading settings…</p>
    );
  }

  const change = (patch: Partial<Settings>) => {
    setForm({ ...form, ...patch });
    setSaid(null);
  };
  const addFiles = (paths: string[]) => {
    const added = paths.filter((p) => p.trim() !== "" && !form.stack_files.includes(p));
    if (added.length > 0) change({ stack_files: [...form.stack_files, ...added] });
  };
  const browse = () => {
    backend
      .chooseStackFiles()
      .then((paths) => paths && addFiles(paths))
      .catch((e) => setError(asUiError(e).message));
  };
  const testConnection = () => {
    const endpoint = form.engine_endpoint ?? "";
    setTesting(true);
    setConnection(null);
    backend
      .testConnection(endpoint)
      .then((text) => setConnection({ ok: true, text }))
      .catch((e) => setConnection({ ok: false, text: asUiError(e).message }))
      .finally(() => setTesting(false));
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    setSaid(null);
    backend
      .settingsSave(form)
      .then((v) => {
        load(v);
        setSaid(
          v.problems.length > 0
            ? `Saved to ${v.config_path ?? "config.toml"} and applied; the parts of the file with a problem (above) still use their defaults until it is fixed.`
            : `Saved to ${v.config_path ?? "config.toml"} and applied.`,
        );
        onSaved?.(v);
      })
      .catch((err) => setError(asUiError(err).message))
      .finally(() => setSaving(false));
  };
  const dirty = !sameSettings(form, view.settings);

  return (
    <form className="settings" onSubmit={save} noValidate aria-label="Settings" data-testid="settings">
      <h2>Settings</h2>
      <p className="muted small">
        Kept in <code data-testid="settings-path">{view.config_path ?? "config.toml"}</code>; your comments in it stay.
      </p>
      {view.problems.length > 0 && (
        <div className="banner warning" role="alert" data-testid="settings-problems">
          The file has problems the app works around: {view.problems.join("; ")}
        </div>
      )}

      <fieldset>
        <legend>Stack</legend>
        {form.stack_files.length === 0 ? (
          <p className="muted" data-testid="settings-builtin">The built-in AI stack (no compose file chosen).</p>
        ) : (
          <ul className="file-list" data-testid="settings-stack-files">
            {form.stack_files.map((f) => (
              <li key={f}>
                <code>{f}</code>{" "}
                <button
                  type="button"
                  aria-label={`Remove ${f}`}
                  onClick={() => change({ stack_files: form.stack_files.filter((x) => x !== f) })}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <div className="row">
          <button type="button" onClick={browse} data-testid="settings-browse">
            Choose files…
          </button>
          <label>
            or a path{" "}
            <input
              type="text"
              value={typedPath}
              placeholder="/home/me/ai/docker-compose.yml"
              onChange={(e) => setTypedPath(e.target.value)}
              data-testid="settings-stack-path"
            />
          </label>
          <button
            type="button"
            disabled={typedPath.trim() === ""}
            onClick={() => {
              addFiles([typedPath.trim()]);
              setTypedPath("");
            }}
            data-testid="settings-add-path"
          >
            Add
          </button>
        </div>
      </fieldset>

      <fieldset>
        <legend>Container engine</legend>
        <label>
          Endpoint{" "}
          <input
            type="text"
            value={form.engine_endpoint ?? ""}
            placeholder="automatic: DOCKER_HOST, then Podman's and Docker's usual sockets"
            onChange={(e) => change({ engine_endpoint: e.target.value.trim() === "" ? null : e.target.value })}
            data-testid="settings-endpoint"
          />
        </label>{" "}
        <button
          type="button"
          disabled={testing || !form.engine_endpoint}
          onClick={testConnection}
          data-testid="settings-test-connection"
        >
          {testing ? "Testing…" : "Test connection"}
        </button>
        {connection && (
          <p className={connection.ok ? "ok" : "failed"} role="status" data-testid="settings-connection">
            {connection.text}
          </p>
        )}
        {view.pinned_endpoint && (
          <p className="muted small">
            STACKWARDEN_HOST is set ({view.pinned_endpoint}): it wins over this setting while it is set.
          </p>
        )}
      </fieldset>

      <fieldset>
        <legend>Watching</legend>
        <label>
          Sampling interval (ms){" "}
          <input
            type="number"
            min={250}
            step={250}
            value={form.refresh_interval_ms}
            onChange={(e) => change({ refresh_interval_ms: Number(e.target.value) })}
            data-testid="settings-interval"
          />
        </label>
        <label>
          Keep history for (hours){" "}
          <input
            type="number"
            min={1}
            value={form.retention_hours}
            onChange={(e) => change({ retention_hours: Number(e.target.value) })}
            data-testid="settings-retention"
          />
        </label>
        <Check
          checked={form.healing_enabled}
          onChange={(on) => change({ healing_enabled: on })}
          testid="settings-healing"
          label="Self-healing (each service's policy is in the stack file)"
        />
      </fieldset>

      <fieldset>
        <legend>Notify me when</legend>
        {(Object.keys(NOTIFY_LABEL) as (keyof NotificationsConfig)[]).map((k) => (
          <Check
            key={k}
            checked={form.notifications[k]}
            onChange={(on) => change({ notifications: { ...form.notifications, [k]: on } })}
            testid={`settings-notify-${k}`}
            label={NOTIFY_LABEL[k]}
          />
        ))}
      </fieldset>

      <fieldset>
        <legend>Desktop</legend>
        <Check
          checked={form.autostart}
          onChange={(on) => change({ autostart: on })}
          testid="settings-autostart"
          label="Start hidden in the tray when I log in"
        >
          {view.autostart_active !== view.settings.autostart && (
            <span className="muted small"> (the autostart entry does not match: save to fix it)</span>
          )}
        </Check>
        <label>
          Theme{" "}
          <select
            value={form.theme}
            onChange={(e) => change({ theme: e.target.value as Theme })}
            data-testid="settings-theme"
          >
            {THEMES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
      </fieldset>

      {error && (
        <div className="banner warning" role="alert" data-testid="settings-error">
          {error}
        </div>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={!dirty || saving} data-testid="settings-save">
          {saving ? "Saving…" : "Save"}
        </button>
        <button type="button" disabled={!dirty || saving} onClick={() => load(view)}>
          Revert
        </button>
        {said && (
          <span className="ok" role="status" data-testid="settings-saved">
            {said}
          </span>
        )}
      </div>
    </form>
  );
});
