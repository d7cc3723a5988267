"""Mentorship endpoints: profiles, discovery, requests and lifecycle, agreement, goals and
action items. Every mentorship endpoint answers 404 to anyone but its two participants.
"""

from __future__ import annotations

from typing import Final, get_args

from aiohttp import web

from server.accounts.auth import forget_user, require_user
from server.core.api import Handler, Routes, json_response, read_json, read_query
from server.core.keys import BUS, CLOCK, DB
from server.mentorship import agreements, goals, profiles, requests, transitions
from server.mentorship.keys import MENTOR_FACTS, ON_STOP
from server.mentorship.lifecycle import Action
from server.mentorship.schemas import (
    ActionItemIn,
    ActionItemList,
    ActionItemOut,
    ActionItemPatch,
    AgreementIn,
    ConfirmIn,
    GoalsIn,
    MentorList,
    MentorshipIn,
    MentorshipList,
    MentorshipOut,
    MentorshipsQuery,
    MentorsQuery,
    ProfileIn,
    ProfileOut,
    ReasonIn,
)

routes = Routes("mentorship")
# The system expires requests; people take the other actions.
PERSON_ACTIONS: Final = tuple(a for a in get_args(Action) if a != "expire")


@routes.route(
    "GET", "/api/me/profile", summary="The signed-in person's profile", responses={200: ProfileOut}
)
async def my_profile(request: web.Request) -> web.Response:
    user = await require_user(request)
    profile = await profiles.get_profile(
        db=request.app[DB], now=request.app[CLOCK].now(), user_id=user.id
    )
    return json_response(profile)


@routes.route(
    "PUT",
    "/api/me/profile",
    summary="Update the profile (and time zone); fields left out keep their value",
    body=ProfileIn,
    responses={200: ProfileOut},
)
async def put_profile(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, ProfileIn)
    profile = await profiles.put_profile(
        db=request.app[DB], now=request.app[CLOCK].now(), user_id=user.id, data=data
    )
    if data.timezone is not None:
        await forget_user(request.app, user.id)
    return json_response(profile)


@routes.route(
    "GET", "/api/users/{user_id}", summary="A person's public profile", responses={200: ProfileOut}
)
async def public_profile(request: web.Request) -> web.Response:
    await require_user(request)
    profile = await profiles.get_profile(
        db=request.app[DB],
        now=request.app[CLOCK].now(),
        user_id=request.match_info["user_id"],
    )
    return json_response(profile)


@routes.route(
    "GET",
    "/api/mentors",
    summary="Mentors ranked for the signed-in mentee, with reasons and overlap hours",
    query=MentorsQuery,
    responses={200: MentorList},
)
async def mentors(request: web.Request) -> web.Response:
    user = await require_user(request)
    query = read_query(request, MentorsQuery)
    found = await profiles.discover(
        db=request.app[DB],
        now=request.app[CLOCK].now(),
        viewer=user,
        query=query,
        facts=request.app.get(MENTOR_FACTS),
    )
    return json_response(found)


@routes.route(
    "POST",
    "/api/mentorships",
    summary="Ask a mentor, with goals, a message and optionally a proposed agreement",
    body=MentorshipIn,
    responses={201: MentorshipOut},
)
async def request_mentorship(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, MentorshipIn)
    app = request.app
    created = await requests.request_mentorship(
        db=app[DB], bus=app[BUS], now=app[CLOCK].now(), mentee=user, data=data
    )
    return json_response(created, status=201)


@routes.route(
    "GET",
    "/api/mentorships",
    summary="The signed-in person's mentorships, as mentor or mentee",
    query=MentorshipsQuery,
    responses={200: MentorshipList},
)
async def list_mentorships(request: web.Request) -> web.Response:
    user = await require_user(request)
    query = read_query(request, MentorshipsQuery)
    app = request.app
    items = await requests.list_mentorships(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        user_id=user.id,
        state=query.state,
    )
    return json_response(MentorshipList(items=items))


@routes.route(
    "GET",
    "/api/mentorships/{mentorship_id}",
    summary="One mentorship: state, goals and agreement",
    responses={200: MentorshipOut, 404: "Not a participant, or no such mentorship"},
)
async def get_mentorship(request: web.Request) -> web.Response:
    user = await require_user(request)
    app = request.app
    found = await requests.get_mentorship(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        user_id=user.id,
        mentorship_id=request.match_info["mentorship_id"],
    )
    return json_response(found)


def _lifecycle_handler(action: Action) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        user = await require_user(request)
        data = await read_json(request, ReasonIn) if request.body_exists else ReasonIn()
        app = request.app
        on_stop = app[ON_STOP]
        moved = await transitions.act(
            db=app[DB],
            bus=app[BUS],
            now=app[CLOCK].now(),
            user=user,
            mentorship_id=request.match_info["mentorship_id"],
            action=action,
            reason=data.reason,
            on_stop=on_stop,
        )
        return json_response(moved)

    handle.__name__ = f"mentorship_{action}"
    return handle


for _action in PERSON_ACTIONS:
    routes.route(
        "POST",
        f"/api/mentorships/{{mentorship_id}}/{_action}",
        summary=f"Lifecycle: {_action} (optional reason); 409 names the current state",
        body=ReasonIn,
        responses={200: MentorshipOut, 403: "Not this side's move", 409: "Illegal in this state"},
    )(_lifecycle_handler(_action))


@routes.route(
    "PUT",
    "/api/mentorships/{mentorship_id}/agreement",
    summary="Propose a new agreement version (confirmed by its proposer)",
    body=AgreementIn,
    responses={201: MentorshipOut},
)
async def propose_agreement(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, AgreementIn)
    app = request.app
    out = await agreements.propose_agreement(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        user=user,
        mentorship_id=request.match_info["mentorship_id"],
        data=data,
    )
    return json_response(out, status=201)


@routes.route(
    "POST",
    "/api/mentorships/{mentorship_id}/agreement/confirm",
    summary="Confirm the latest agreement version; in force once both confirmed it",
    body=ConfirmIn,
    responses={200: MentorshipOut, 409: "A newer version replaced this one"},
)
async def confirm_agreement(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, ConfirmIn)
    app = request.app
    out = await agreements.confirm_agreement(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        user=user,
        mentorship_id=request.match_info["mentorship_id"],
        version=data.version,
    )
    return json_response(out)


@routes.route(
    "PUT",
    "/api/mentorships/{mentorship_id}/goals",
    summary="Replace the goals (either participant, while active or paused)",
    body=GoalsIn,
    responses={200: MentorshipOut},
)
async def put_goals(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, GoalsIn)
    out = await goals.put_goals(
        db=request.app[DB],
        now=request.app[CLOCK].now(),
        user=user,
        mentorship_id=request.match_info["mentorship_id"],
        data=data,
    )
    return json_response(out)


@routes.route(
    "GET",
    "/api/mentorships/{mentorship_id}/action-items",
    summary="The mentorship's action items, open ones first",
    responses={200: ActionItemList},
)
async def list_action_items(request: web.Request) -> web.Response:
    user = await require_user(request)
    items = await goals.list_action_items(
        db=request.app[DB], user_id=user.id, mentorship_id=request.match_info["mentorship_id"]
    )
    return json_response(ActionItemList(items=[goals.action_item_out(i) for i in items]))


@routes.route(
    "POST",
    "/api/mentorships/{mentorship_id}/action-items",
    summary="Add an action item (owner is either participant)",
    body=ActionItemIn,
    responses={201: ActionItemOut},
)
async def add_action_item(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, ActionItemIn)
    item = await goals.add_action_item(
        db=request.app[DB],
        now=request.app[CLOCK].now(),
        user=user,
        mentorship_id=request.match_info["mentorship_id"],
        data=data,
    )
    return json_response(goals.action_item_out(item), status=201)


@routes.route(
    "PATCH",
    "/api/action-items/{item_id}",
    summary="Change an action item: title, owner, due date, done",
    body=ActionItemPatch,
    responses={200: ActionItemOut},
)
async def update_action_item(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, ActionItemPatch)
    item = await goals.update_action_item(
        db=request.app[DB],
        now=request.app[CLOCK].now(),
        user=user,
        item_id=request.match_info["item_id"],
        data=data,
    )
    return json_response(goals.action_item_out(item))
