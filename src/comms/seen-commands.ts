/**
 * Command ids already accepted, with their expiry, kept in SQLite (the comms file in the state
 * dir) so that a replayed command is refused even after a restart. An id can be forgotten once its
 * command has expired: an expired command is refused anyway.
 */
import type Database from 'better-sqlite3';

export class SeenCommands {
  /**
   * Ids that could not be written (the disk is full): remembered in memory, so a replay is still
   * refused until the process restarts; the command itself is not held up (ending a session must
   * never depend on free space).
   */
  private readonly unsaved = new Map<string, number>();

  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS seen_commands (command_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, seen_at TEXT NOT NULL)');
  }

  has(commandId: string): boolean {
    return this.db.prepare('SELECT 1 FROM seen_commands WHERE command_id = ?').get(commandId) !== undefined;
  }

  /**
   * Remember an id; false when it was already there (a replay). Durable when this returns, unless
   * the file cannot be written: then `onUnsaved` is told and the id is kept in memory only.
   */
  remember(commandId: string, expiresAt: Date, now: Date, onUnsaved?: (err: Error) => void): boolean {
    for (const [id, exp] of this.unsaved) if (exp < now.getTime()) this.unsaved.delete(id);
    if (this.unsaved.has(commandId)) return false;
    if (this.has(commandId)) return false;
    try {
      this.db.prepare('DELETE FROM seen_commands WHERE expires_at < ?').run(now.getTime());
      const r = this.db.prepare('INSERT OR IGNORE INTO seen_commands (command_id, expires_at, seen_at) VALUES (?, ?, ?)').run(commandId, expiresAt.getTime(), now.toISOString());
      return r.changes === 1;
    } catch (err) {
      this.unsaved.set(commandId, expiresAt.getTime());
      onUnsaved?.(err as Error);
      return true;
    }
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM seen_commands').get() as { n: number }).n + this.unsaved.size;
  }
}
