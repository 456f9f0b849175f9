"""Command line: ``flask --app dcol <command>`` (``db`` comes from Flask-Migrate)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from dcol.extensions import db

users_cli = AppGroup("users", help="Gérer les comptes utilisateurs.")
mail_cli = AppGroup("mail", help="Envoyer les e-mails en attente.")
audit_cli = AppGroup("audit", help="Vérifier le journal d'audit.")
workflow_cli = AppGroup("workflow", help="Le cycle de vie des dossiers.")


def _roles_option(values: tuple[str, ...]):
    from dcol.models import Role

    return {Role(value) for value in values}


@users_cli.command("create")
@click.argument("email")
@click.option("--name", "full_name", required=True, help="Nom complet.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["applicant", "reviewer", "committee", "manager", "expert", "admin"]),
    help="Rôle (répétable).",
)
@click.option("--siren", help="SIREN de l'organisation (rôle applicant).")
@click.option("--signatory", is_flag=True, help="Peut déposer et signer pour l'organisation.")
@click.option("--expert-id", type=int, help="Fiche expert (rôle expert).")
@click.password_option(help="Mot de passe (au moins 12 caractères).")
def create_user_command(email, full_name, roles, siren, signatory, expert_id, password):
    """Create a user account (the membership of an applicant is created active)."""
    import sqlalchemy as sa

    from dcol.accounts.registration import RegistrationError, clean_siren
    from dcol.accounts.services import AccountError, create_user
    from dcol.models import MembershipStatus, Organisation

    organisation = None
    if siren:
        try:
            siren = clean_siren(siren)
        except RegistrationError as error:
            raise click.ClickException(error.message) from error
        organisation = db.session.scalar(sa.select(Organisation).where(Organisation.siren == siren))
        if organisation is None:
            raise click.ClickException(f"Aucune organisation avec le SIREN {siren}.")
    try:
        user = create_user(
            email,
            full_name,
            password=password,
            roles=_roles_option(roles),
            organisation=organisation,
            is_signatory=signatory,
            membership_status=MembershipStatus.ACTIVE if organisation else None,
            expert_id=expert_id,
        )
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Compte créé : {user.email} (id {user.id}).")


@users_cli.command("set-password")
@click.argument("email")
@click.password_option(help="Nouveau mot de passe (au moins 12 caractères).")
def set_password_command(email, password):
    """Set a user's password."""
    from dcol.accounts.services import AccountError, find_user, set_password

    user = find_user(email)
    if user is None:
        raise click.ClickException(f"Aucun compte pour {email}.")
    try:
        set_password(user, password)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Mot de passe modifié pour {user.email}.")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="CLI", show_default=True, help="À quoi sert le jeton.")
def token_command(email, name):
    """Print a new API token for a user (shown once; only its hash is stored)."""
    from dcol.accounts.services import create_api_token, find_user

    user = find_user(email)
    if user is None or not user.is_enabled:
        raise click.ClickException(f"Aucun compte actif pour {email}.")
    token = create_api_token(user, name)
    db.session.commit()
    click.echo(token)


@mail_cli.command("send")
def send_mail_command():
    """Deliver the mails that are due (retrying failed ones)."""
    from dcol.mail import deliver_pending

    click.echo(f"{deliver_pending()} e-mail(s) envoyé(s).")


@audit_cli.command("verify")
def audit_verify_command():
    """Check every dossier's hash chain; name the first altered or removed entry of each."""
    from dcol.audit import verify_all

    count, problems = verify_all()
    if problems:
        for problem in problems:
            click.echo(f"ALTÉRATION : {problem}", err=True)
        raise click.ClickException(
            f"Journal d'audit altéré : {len(problems)} dossier(s) touché(s), {count} entrée(s) lues."
        )
    click.echo(f"Journal d'audit intègre : {count} entrée(s) vérifiée(s).")


@workflow_cli.command("tick")
def workflow_tick_command():
    """Send due reminders, raise and resolve the follow-up alerts, and deliver pending mail
    (idempotent: run it from cron)."""
    from dcol.mail import deliver_pending
    from dcol.missions.alerts import check_alerts
    from workflows.reminders import send_deadline_reminders, send_review_reminders

    queued = send_deadline_reminders()
    db.session.commit()
    queued += send_review_reminders()
    db.session.commit()  # releases the reviews locked while reminding
    raised = check_alerts()
    db.session.commit()
    sent = deliver_pending()
    click.echo(f"{queued} rappel(s) préparé(s), {raised} alerte(s) levée(s), "
               f"{sent} e-mail(s) envoyé(s).")


@workflow_cli.command("diagram")
def workflow_diagram_command():
    """Write the dossier state machine as a Mermaid diagram into docs/workflow.md."""
    from workflows.diagram import write

    click.echo(f"Diagramme écrit dans {write()}.")


@click.command("seed-demo")
def seed_demo_command():
    """Load the demonstration data (idempotent: running it twice changes nothing)."""
    from dcol.demo import DemoRefused, seed_demo

    try:
        summary = seed_demo()
    except DemoRefused as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from refusal
    db.session.commit()
    click.echo(summary)


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(workflow_cli)
    app.cli.add_command(seed_demo_command)
