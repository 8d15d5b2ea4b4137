package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/prevoir/prevoir/backup"
)

func (a *app) backupCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "backup DIR",
		Short: "Copy the SQLite database and the artifact folder to a new directory, while prevoir runs",
		Long: `Back up a one-machine home (the SQLite database and the local artifact folder) into DIR,
which must not exist or be empty. prevoir may keep running: the database is copied as one
consistent snapshot (SQLite's VACUUM INTO) without stopping writers, then the artifact folder is
copied (artifacts are written before the rows that reference them, so the copy holds every
artifact the snapshot references). DIR/manifest.json, written last, lists every file with its
size and SHA-256; "prevoir restore" checks them.

A team deployment (PostgreSQL, S3 or GCS) is backed up with those services' tools (pg_dump,
bucket versioning or replication): this command refuses their URLs.`,
		Example: `  prevoir backup /var/backups/prevoir/$(date +%F)
  prevoir --home /srv/prevoir backup /mnt/nas/prevoir-backup`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := backup.ParseHome(a.dbURL, a.artifactsURL)
			if err != nil {
				return err
			}
			m, err := backup.Create(cmd.Context(), home, args[0], backup.Options{Prevoir: version()})
			if err != nil {
				return err
			}
			a.logger.Info("backup written", "dir", args[0], "schema_version", m.SchemaVersion, "artifacts", len(m.Artifacts))
			fmt.Fprintf(a.stdout, "backed up %s (schema version %d, %d bytes) and %d artifacts from %s into %s\n",
				home.DB, m.SchemaVersion, m.Database.Size, len(m.Artifacts), home.Artifacts, args[0])
			return nil
		},
	}
}

func (a *app) restoreCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore DIR",
		Short: "Restore a backup made by prevoir backup into an empty home, after checking it",
		Long: `Restore the backup in DIR into the home (--home, or --db sqlite:PATH and --artifacts DIR).
Before anything is written, every file of the backup is checked against the manifest's size and
SHA-256 (only regular files: a symbolic link or a FIFO is refused), the database's integrity is
checked, and the manifest must list every artifact the database references. The backup is then
copied beside the home (prevoir.db.restore-ID/, artifacts.restore-ID), the copy verified, and
only then swapped in by renames; the old database and artifacts are removed last. A failure at
any step leaves the home as it was. If the process dies during the swap, the journal
prevoir.db.restore.json lets the next command that writes put the old home back.

The home must hold no database and an empty (or no) artifact folder; --force replaces them.
Stop every prevoir process using the home first. A backup from an older prevoir is upgraded by
the next command that writes to the database.`,
		Example: `  prevoir --home ./prevoir-data restore /var/backups/prevoir/2026-05-04`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := backup.ParseHome(a.dbURL, a.artifactsURL)
			if err != nil {
				return err
			}
			m, err := backup.Restore(cmd.Context(), args[0], home, backup.RestoreOptions{Force: force})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "restored the backup of %s (schema version %d, made by prevoir %s) into %s and %s: %d artifacts verified\n",
				m.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), m.SchemaVersion, m.Prevoir, home.DB, home.Artifacts, len(m.Artifacts))
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace the home's existing database and artifacts")
	markPerInvocation(cmd, "force")
	return cmd
}
