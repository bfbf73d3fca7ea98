"""Partner registration with Tesla: the key, the domain, each region, the key check.

Owns the application's partner key (mode 0600, under the config directory),
the view serving its public half at Tesla's well-known path, cleaning up the
domain the owner types, registering it in each region, checking that Tesla
holds our key there, and the translation key of each failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from ..const import (
    CONF_BASE_URL,
    CONF_DOMAIN_NAME,
    CONF_SERVER,
    CONF_TOKEN_URL,
    PARTNER_REGIONS,
    PRIVATE_KEY_FILE,
    SERVER_CUSTOM,
)
from ..fleet import (
    PUBLIC_KEY_PATH,
    REGION_BASE_URLS,
    CannotConnect,
    FleetError,
    InvalidArgument,
    InvalidClient,
    PartnerNotRegistered,
    TokenExpired,
    WrongRegion,
    keys,
    normalize_domain,
    partner_public_key,
    partner_token,
    plain_words,
    register_partner,
)

DATA_PUBLIC_PEM: HassKey[str] = HassKey("powerwall_fleet_public_pem")
_VIEW_REGISTERED: HassKey[bool] = HassKey("powerwall_fleet_key_view")


# ------------------------------------------------------------------ the key


def private_key_path(hass: HomeAssistant) -> str:
    """Path of the private key (under the config dir, mode 0600)."""
    return hass.config.path(PRIVATE_KEY_FILE)


async def async_get_private_key(hass: HomeAssistant) -> ec.EllipticCurvePrivateKey:
    """Load the partner key, creating it on first use; caches the public PEM."""
    key = await hass.async_add_executor_job(
        keys.load_or_create_private_key, private_key_path(hass)
    )
    hass.data[DATA_PUBLIC_PEM] = keys.public_key_pem(key)
    return key


async def async_get_public_pem(hass: HomeAssistant) -> str | None:
    """The public key PEM if a key exists (never creates one)."""
    if (pem := hass.data.get(DATA_PUBLIC_PEM)) is not None:
        return pem

    def _load() -> str | None:
        try:
            key = keys.load_private_key(private_key_path(hass))
        except keys.InvalidKey:
            return None
        return keys.public_key_pem(key)

    pem = await hass.async_add_executor_job(_load)
    if pem is not None:
        hass.data[DATA_PUBLIC_PEM] = pem
    return pem


# ------------------------------------------------------- the key's web page


@callback
def async_register_public_key_view(hass: HomeAssistant) -> None:
    """Register the view once (at setup, or when a first config flow needs it)."""
    if hass.data.get(_VIEW_REGISTERED):
        return
    hass.http.register_view(PublicKeyView())
    hass.data[_VIEW_REGISTERED] = True


class PublicKeyView(HomeAssistantView):
    """The partner public key, PEM, at Tesla's well-known path.

    Tesla downloads ``https://<domain>/.well-known/appspecific/com.tesla.3p.public-key.pem``
    when the partner account is registered. Owners whose domain points at
    their Home Assistant need nothing else: this view answers that path,
    without authentication, with the public key only.
    """

    url = PUBLIC_KEY_PATH
    name = "api:powerwall_fleet:public_key"
    requires_auth = False

    async def get(self, request: web.Request) -> web.Response:
        """Answer with the public key, or 404 before one exists."""
        pem = await async_get_public_pem(request.app[KEY_HASS])
        if pem is None:
            return web.Response(status=404, text="No key yet")
        return web.Response(
            text=pem,
            content_type="application/x-pem-file",
            headers={"Cache-Control": "no-cache"},
        )


# --------------------------------------------------------------- the domain


def clean_domain(typed: str) -> str:
    """The host name Tesla wants, from what the owner typed (scheme, case, path gone)."""
    try:
        return normalize_domain(typed)
    except InvalidArgument as err:
        raise InvalidDomain(err.error or "invalid_domain") from err


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def display_host(typed: str) -> str | None:
    """The host a typed domain names, cleaned up for showing; None if it names none.

    More lenient than :func:`clean_domain`: every scheme, a path, a user and a
    port are dropped (``https://https://home.example.org:8443/`` shows
    ``home.example.org``). A host Tesla refuses for containing "tesla" is still
    a host and is shown; nothing that is not a host name is.
    """
    text = typed.strip()
    while (stripped := _SCHEME.sub("", text)) != text:
        text = stripped
    host = text.split("/", 1)[0].rpartition("@")[2].split(":", 1)[0]
    try:
        return normalize_domain(host)
    except InvalidArgument as err:
        if err.error == "domain_contains_tesla":
            return host.lower().rstrip(".")
        return None


def suggested_domain(hass: HomeAssistant) -> str | None:
    """The host of this Home Assistant's external URL, if it has one."""
    try:
        url = get_url(hass, allow_internal=False, allow_ip=False)
    except NoURLAvailableError:
        return None
    return urlsplit(url).hostname


def key_placeholders(
    hass: HomeAssistant, key: ec.EllipticCurvePrivateKey, domain: str
) -> dict[str, str]:
    """The public key, where Tesla will fetch it, and where this Home Assistant serves it.

    ``domain`` is what the owner typed: the key's address shows the host it
    names (:func:`display_host`), or a stand-in when it names none.
    """
    try:
        local = f"{get_url(hass, prefer_external=True)}{PUBLIC_KEY_PATH}"
    except NoURLAvailableError:
        local = PUBLIC_KEY_PATH
    return {
        "public_key": keys.public_key_pem(key),
        "key_url": f"https://{display_host(domain) or '<your domain>'}{PUBLIC_KEY_PATH}",
        "local_key_url": local,
    }


# ------------------------------------------------------------ registration


class PartnerSetupError(Exception):
    """Partner registration failed; ``reason`` is a translation key.

    ``field`` is the form field the reason belongs to (``base``: the form).
    """

    field = "base"

    def __init__(self, reason: str, detail: str = "") -> None:
        """Remember the reason and Tesla's words (never secrets)."""
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class InvalidDomain(PartnerSetupError):
    """Tesla would refuse the typed domain; nothing was sent."""

    field = CONF_DOMAIN_NAME


class PartnerRegistration:
    """One config flow's registration of the application with Tesla.

    Fetches a partner token (client credentials) when first needed, and a
    fresh one once when Tesla answers 401 (the token expired, or the server
    forgot it); remembers the regions where Tesla is known to hold our key.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        client_id: str,
        client_secret: str,
        server: Mapping[str, str],
    ) -> None:
        """Register against ``server`` (CONF_SERVER, CONF_BASE_URL, CONF_TOKEN_URL)."""
        self._hass = hass
        self._client_id = client_id
        self._client_secret = client_secret
        self._server = server
        self._token: str | None = None
        self._registered_bases: set[str] = set()

    def _bases(self) -> list[str]:
        """Where to register up front: the custom server, or Tesla's regions."""
        if self._server[CONF_SERVER] == SERVER_CUSTOM:
            return [self._server[CONF_BASE_URL]]
        return [REGION_BASE_URLS[region] for region in PARTNER_REGIONS]

    async def _partner_token(self) -> str:
        if self._token is None:
            try:
                tokens = await partner_token(
                    async_get_clientsession(self._hass),
                    client_id=self._client_id,
                    client_secret=self._client_secret,
                    audience=self._server[CONF_BASE_URL],
                    token_url=self._server[CONF_TOKEN_URL],
                )
            except InvalidClient as err:
                raise PartnerSetupError("invalid_client") from err
            except CannotConnect as err:
                raise PartnerSetupError("cannot_connect") from err
            except FleetError as err:
                raise PartnerSetupError(
                    "partner_token_failed", error_detail(err)
                ) from err
            self._token = tokens.access_token
        return self._token

    async def _with_token[T](
        self, request: Callable[..., Awaitable[T]], **kwargs: Any
    ) -> T:
        """``request(session, partner_token=..., **kwargs)``; on a 401, once more with a fresh token."""
        session = async_get_clientsession(self._hass)
        try:
            return await request(
                session, partner_token=await self._partner_token(), **kwargs
            )
        except TokenExpired:
            self._token = None
            return await request(
                session, partner_token=await self._partner_token(), **kwargs
            )

    async def holds_key(
        self,
        domain: str,
        key: ec.EllipticCurvePrivateKey,
        bases: list[str] | None = None,
    ) -> bool:
        """Whether every region already holds our key for ``domain``."""
        for base in bases or self._bases():
            try:
                reported = await self._with_token(
                    partner_public_key, base_url=base, domain=domain
                )
            except CannotConnect as err:
                raise PartnerSetupError("cannot_connect") from err
            except FleetError as err:
                raise PartnerSetupError(
                    "registration_failed", error_detail(err)
                ) from err
            if not keys.same_public_key(key, reported):
                return False
            self._registered_bases.add(base)
        return True

    async def register(
        self,
        domain: str,
        key: ec.EllipticCurvePrivateKey,
        bases: list[str] | None = None,
    ) -> None:
        """Register ``domain`` in each region and check Tesla holds our key."""
        for base in bases or self._bases():
            try:
                await self._with_token(register_partner, base_url=base, domain=domain)
                reported = await self._with_token(
                    partner_public_key, base_url=base, domain=domain
                )
            except CannotConnect as err:
                raise PartnerSetupError("cannot_connect") from err
            except WrongRegion as err:
                raise PartnerSetupError("wrong_region", error_detail(err)) from err
            except FleetError as err:
                raise PartnerSetupError(
                    _registration_reason(err), error_detail(err)
                ) from err
            if not keys.same_public_key(key, reported):
                raise PartnerSetupError("key_mismatch")
            self._registered_bases.add(base)

    async def register_in(self, domain: str, base: str) -> None:
        """Make sure Tesla holds our key in the account's region ``base``."""
        if base in self._registered_bases:
            return
        key = await async_get_private_key(self._hass)
        if not await self.holds_key(domain, key, [base]):
            await self.register(domain, key, [base])


def _registration_reason(err: FleetError) -> str:
    text = f"{err.error or ''} {err.description or ''}".lower()
    if "already" in text or "another" in text:
        return "domain_taken"
    if "public key" in text or err.status == 424:
        return "key_not_reachable"
    if "tesla" in text:
        return "domain_contains_tesla"
    if "domain" in text:
        return "invalid_domain"
    if isinstance(err, PartnerNotRegistered):
        return "partner_not_registered"
    return "registration_failed"


def error_detail(err: FleetError) -> str:
    """Tesla's words for ``err`` (its error key or description), for a form or abort."""
    return err.error or err.description or plain_words(err)
