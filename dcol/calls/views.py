from flask import Blueprint

bp = Blueprint("calls", __name__)
