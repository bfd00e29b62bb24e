"""``reportgen keys``: the key that signs packets here, and the signers' keys ``verify`` trusts."""

from __future__ import annotations

from pathlib import Path

import click

from .options import config_of


@click.group()
def keys() -> None:
    """The Ed25519 key that signs packets, and the signers' keys verify trusts."""


@keys.command("trust")
@click.argument("public_key", metavar="PUBKEY")
@click.option("--name", help="Whose key this is, as you know them (default: the name the .pub claims).")
def keys_trust(public_key: str, name: str | None) -> None:
    """Trust a signer's key: verify says OK for packets it signed (.pub file, key line or fingerprint)."""
    from ..app.verify import short, trust, trust_path

    fingerprint, label = trust(public_key, name)
    click.echo(f"trusted key {short(fingerprint)} as {label} ({fingerprint}) in {trust_path()}")


@keys.command("list")
def keys_list() -> None:
    """The keys verify trusts here besides your own (added with `keys trust`)."""
    from ..app.verify import load_trusted

    for fingerprint, label in load_trusted().items():
        click.echo(f"{fingerprint}  {label}")


@keys.command("untrust")
@click.argument("public_key", metavar="PUBKEY")
def keys_untrust(public_key: str) -> None:
    """Stop trusting a key (its .pub file, key line, or a fingerprint prefix of 16+ hex digits)."""
    from ..app.verify import short, untrust

    fingerprint, label = untrust(public_key)
    click.echo(f"no longer trusted: key {short(fingerprint)} ({label})")


@keys.command("init")
@click.option("--owner", help="Whose key this is, as verify shows it (default: user@host).")
@click.option("--force", is_flag=True, help="Replace an existing key (packets it signed still verify).")
@click.option(
    "--x509",
    "x509",
    is_flag=True,
    help="Make the X.509 certificate and key that sign PDFs as PAdES (self-signed RSA 3072).",
)
@click.option(
    "--ecdsa", is_flag=True, help="With --x509: ECDSA P-256 instead of RSA (the PDFs then declare PDF 2.0)."
)
@click.option(
    "--pkcs12",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="With --x509: import the organisation's PKCS#12 instead (password in $REPORTGEN_PKCS12_PASSWORD).",
)
@click.pass_context
def keys_init(
    ctx: click.Context, owner: str | None, force: bool, x509: bool, ecdsa: bool, pkcs12: Path | None
) -> None:
    """Create the signing key ([signing] key, $REPORTGEN_SIGNING_KEY, or the user config folder).

    With --x509: the certificate and key that sign PDFs ([signing] x509, $REPORTGEN_SIGNING_X509,
    or signing-x509.pem in the user config folder).
    """
    if not x509 and (ecdsa or pkcs12 is not None):
        raise click.UsageError("--ecdsa and --pkcs12 go with --x509")
    if x509:
        from ..app.audit import create_x509

        made = create_x509(config_of(ctx), owner, pkcs12=pkcs12, ecdsa=ecdsa, force=force)
        click.echo(made.summary())
        return
    from ..app.audit import create_key

    click.echo(create_key(config_of(ctx), owner, force=force).summary())
